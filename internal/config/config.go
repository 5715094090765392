package config

import "time"

// Config is config.toml after ${NAME} expansion, defaults and validation.
type Config struct {
	Issuer string `toml:"issuer"` // public base URL, no trailing slash
	Listen string `toml:"listen"`
	// TrustedProxies lists CIDRs whose X-Forwarded-For is believed.
	TrustedProxies []string `toml:"trusted_proxies"`
	// UpstreamTimeout bounds every call to an upstream provider.
	UpstreamTimeout Duration `toml:"upstream_timeout"`
	// LoginTTL bounds a browser's round trip through the upstream.
	LoginTTL Duration `toml:"login_ttl"`
	LogLevel string   `toml:"log_level"` // debug | info | warn | error

	Database  Database            `toml:"database"`
	Tokens    Tokens              `toml:"tokens"`
	Providers map[string]Provider `toml:"providers"`
	Tenants   []Tenant            `toml:"tenants"`
}

// Database selects the store.
type Database struct {
	URL string `toml:"url"` // sqlite:PATH or postgres://...
}

// Tokens configures signing and lifetimes.
type Tokens struct {
	SigningAlg        string   `toml:"signing_alg"` // ES256 | EdDSA | RS256
	AccessTTL         Duration `toml:"access_ttl"`
	IDTokenTTL        Duration `toml:"id_token_ttl"`
	RefreshIdleTTL    Duration `toml:"refresh_idle_ttl"`
	RefreshMaxTTL     Duration `toml:"refresh_max_ttl"`
	RefreshReuseGrace Duration `toml:"refresh_reuse_grace"`
	CodeTTL           Duration `toml:"code_ttl"`
	// KeyRotation: a signing key older than this is replaced by a new one.
	KeyRotation Duration `toml:"key_rotation"`
}

// Provider is one [providers.NAME] section.
type Provider struct {
	Name         string   `toml:"-"`    // the section name
	Type         string   `toml:"type"` // google | github | oidc
	ClientID     string   `toml:"client_id"`
	ClientSecret string   `toml:"client_secret"`
	Issuer       string   `toml:"issuer"`        // google, oidc
	Scopes       []string `toml:"scopes"`        // oidc
	TrustEmail   *bool    `toml:"trust_email"`   // default: true for google and github, false for oidc
	HostedDomain string   `toml:"hosted_domain"` // google: required hd claim
	BaseURL      string   `toml:"base_url"`      // github
	APIURL       string   `toml:"api_url"`       // github
	DisplayName  string   `toml:"display_name"`  // label on the sign-in page
}

// Tenant is one [[tenants]] entry: an app registered with the broker.
type Tenant struct {
	ID                     string   `toml:"id"`
	Name                   string   `toml:"name"`
	RedirectURIs           []string `toml:"redirect_uris"`
	PostLogoutRedirectURIs []string `toml:"post_logout_redirect_uris"`
	AllowedOrigins         []string `toml:"allowed_origins"`
	Providers              []string `toml:"providers"`
	ClientSecret           string   `toml:"client_secret"`
	Access                 Access   `toml:"access"`
	Roles                  []Role   `toml:"roles"`
}

// Access restricts who may sign in to a tenant; empty means anyone.
type Access struct {
	EmailDomains []string `toml:"email_domains"`
	GitHubOrgs   []string `toml:"github_orgs"`
}

// Role grants Role to users matching any of the conditions.
type Role struct {
	Role         string   `toml:"role"`
	Emails       []string `toml:"emails"`
	EmailDomains []string `toml:"email_domains"`
	GitHubOrgs   []string `toml:"github_orgs"`
	Everyone     bool     `toml:"everyone"`
}

// Duration is a time.Duration written as "15m", "720h" in TOML.
type Duration struct{ time.Duration }
