package config

import (
	"fmt"
	"os"
	"reflect"
	"slices"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/socialbroker/broker/providers"
)

// Defaults for everything config.toml may leave out.
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

	DefaultGoogleIssuer  = "https://accounts.google.com"
	DefaultGitHubBaseURL = "https://github.com"
	DefaultGitHubAPIURL  = "https://api.github.com"
)

// DefaultScopes are requested from OpenID Connect providers (google and
// oidc) that set no scopes.
func DefaultScopes() []string { return []string{"openid", "email", "profile"} }

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
	applyProviderDefaults(c)
	validate(c, &ps)
	if err := ps.err(); err != nil {
		return nil, err
	}
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
	}
}

// applyProviderDefaults fills what depends on a provider's name and type.
func applyProviderDefaults(c *Config) {
	for name, p := range c.Providers {
		p.Name = name
		// A section named after a type is of that type:
		// [providers.microsoft], [providers.discord]...
		if p.Type == "" && slices.Contains(providers.Types(), name) && name != "oidc" && name != "oauth2" {
			p.Type = name
		}
		if p.TrustEmail == nil {
			// Google and GitHub only mark an email verified after proving
			// control of it; an arbitrary OIDC issuer may not, so linking
			// accounts on its emails is opt-in.
			trust := providers.TrustsEmailByDefault(p.Type)
			p.TrustEmail = &trust
		}
		if p.DisplayName == "" {
			switch name {
			case "google":
				p.DisplayName = "Google"
			case "github":
				p.DisplayName = "GitHub"
			default:
				p.DisplayName = name
				if l := providers.Label(p.Type); l != "" && p.Type == name {
					p.DisplayName = l
				}
			}
		}
		switch p.Type {
		case "google":
			if p.Issuer == "" {
				p.Issuer = DefaultGoogleIssuer
			}
			if len(p.Scopes) == 0 {
				p.Scopes = DefaultScopes()
			}
		case "github":
			if p.BaseURL == "" {
				p.BaseURL = DefaultGitHubBaseURL
			}
			if p.APIURL == "" {
				p.APIURL = DefaultGitHubAPIURL
			}
		case "oidc":
			if len(p.Scopes) == 0 {
				p.Scopes = DefaultScopes()
			}
		}
		c.Providers[name] = p
	}
	for i := range c.Tenants {
		if c.Tenants[i].Name == "" {
			c.Tenants[i].Name = c.Tenants[i].ID
		}
	}
}
