package config

import (
	"fmt"
	"os"
	"reflect"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/socialbroker/broker/providers"
)

// Defaults for everything config.toml may leave out, except a provider's:
// package providers owns those (providers.Spec.WithDefaults).
const (
	DefaultListen            = "127.0.0.1:8080"
	DefaultDatabaseURL       = "sqlite:./broker.db"
	DefaultSigningAlg        = "ES256"
	DefaultAccessTTL         = 15 * time.Minute
	DefaultIDTokenTTL        = time.Hour
	DefaultRefreshIdleTTL    = 720 * time.Hour  // 30 days
	DefaultRefreshMaxTTL     = 2160 * time.Hour // 90 days
	DefaultRefreshReuseGrace = 10 * time.Second
	DefaultCodeTTL           = 60 * time.Second
	DefaultKeyRotation       = 720 * time.Hour
	DefaultUpstreamTimeout   = 10 * time.Second
	DefaultLoginTTL          = 10 * time.Minute
	DefaultLogLevel          = "info"
	DefaultShutdownDelay     = 5 * time.Second
	DefaultMaxInFlight       = 1024
)

// Load reads and parses the file at path; see Parse.
func Load(path string, getenv func(string) string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	c, err := Parse(data, getenv)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Parse decodes a config.toml, replaces ${NAME} in string values with
// getenv(NAME), applies defaults and validates the result. A TOML syntax
// error is returned as is (it carries the line); everything else wrong is
// returned together as one *ValidationError.
func Parse(data []byte, getenv func(string) string) (*Config, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	var tree map[string]any
	if _, err := toml.Decode(string(data), &tree); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}

	var ps problems
	expand("", tree, getenv, &ps)
	c := defaults()
	decode("", tree, reflect.ValueOf(c).Elem(), &ps)
	nameProviders(c)
	validate(c, &ps)
	if err := ps.err(); err != nil {
		return nil, err
	}
	applyProviderDefaults(c)
	return c, nil
}

// defaults returns a Config holding every top-level default; decoding the
// file over it replaces only what the file sets, so an explicit "0s" stays
// zero and is reported instead of silently defaulted.
func defaults() *Config {
	return &Config{
		Listen:          DefaultListen,
		UpstreamTimeout: Duration{DefaultUpstreamTimeout},
		LoginTTL:        Duration{DefaultLoginTTL},
		LogLevel:        DefaultLogLevel,
		ShutdownDelay:   Duration{DefaultShutdownDelay},
		MaxInFlight:     DefaultMaxInFlight,
		Database:        Database{URL: DefaultDatabaseURL},
		Tokens: Tokens{
			SigningAlg:        DefaultSigningAlg,
			AccessTTL:         Duration{DefaultAccessTTL},
			IDTokenTTL:        Duration{DefaultIDTokenTTL},
			RefreshIdleTTL:    Duration{DefaultRefreshIdleTTL},
			RefreshMaxTTL:     Duration{DefaultRefreshMaxTTL},
			RefreshReuseGrace: Duration{DefaultRefreshReuseGrace},
			CodeTTL:           Duration{DefaultCodeTTL},
			KeyRotation:       Duration{DefaultKeyRotation},
		},
		RateLimits: defaultRateLimits(),
		SSO:        defaultSSO(),
		Admin:      Admin{AuditRetention: Duration{DefaultAuditRetention}},
	}
}

// nameProviders gives each provider its section's name and, to a section
// named after a service's type ([providers.microsoft], [providers.discord]...),
// that type. The generic types, which have no label, are never implied:
// they need an issuer or endpoints, and a name that says which service
// they are.
func nameProviders(c *Config) {
	for name, p := range c.Providers {
		p.Name = name
		if p.Type == "" && providers.Label(name) != "" {
			p.Type = name
		}
		c.Providers[name] = p
	}
}

// applyProviderDefaults fills what a valid section leaves out: the type's
// defaults, which package providers owns, and the sign-in button's label.
func applyProviderDefaults(c *Config) {
	for name, p := range c.Providers {
		c.Providers[name] = p.WithDefaults()
	}
}

// WithDefaults returns p, a valid section or connection with its Name
// set, with its type's defaults and its button's label filled in.
func (p Provider) WithDefaults() Provider {
	p.Spec = p.Spec.WithDefaults()
	if p.DisplayName == "" {
		p.DisplayName = p.Name
		if l := providers.Label(p.Type); l != "" && p.Type == p.Name {
			p.DisplayName = l
		}
	}
	return p
}
