package config

import (
	"crypto/sha256"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/socialbroker/broker/internal/claims"
	"github.com/socialbroker/broker/providers"
)

// Config is config.toml after ${NAME} expansion, defaults and validation.
type Config struct {
	Issuer string `toml:"issuer"` // public base URL, no trailing slash
	Listen string `toml:"listen"`
	// MetricsListen, when set, is the only address /metrics is served on
	// (a port for the monitoring network, not the public one); the main
	// listener then answers 404 for it. Empty: /metrics on the main listener.
	MetricsListen string `toml:"metrics_listen"`
	// TrustedProxies lists CIDRs whose X-Forwarded-For is believed.
	TrustedProxies []string `toml:"trusted_proxies"`
	// UpstreamTimeout bounds every call to an upstream provider.
	UpstreamTimeout Duration `toml:"upstream_timeout"`
	// LoginTTL bounds a browser's round trip through the upstream.
	LoginTTL Duration `toml:"login_ttl"`
	LogLevel string   `toml:"log_level"` // debug | info | warn | error
	// ShutdownDelay is how long a broker told to stop (SIGTERM) goes on
	// serving, with /readyz at 503, before it stops accepting: time for
	// load balancers to take it out of rotation. Zero stops at once.
	ShutdownDelay Duration `toml:"shutdown_delay"`
	// MaxInFlight bounds the requests served at once; beyond it a request
	// is answered 503 with Retry-After at once. Zero: no bound.
	MaxInFlight int `toml:"max_in_flight"`

	Database  Database            `toml:"database"`
	Tokens    Tokens              `toml:"tokens"`
	Providers map[string]Provider `toml:"providers"`
	Tenants   []Tenant            `toml:"tenants"`

	RateLimits RateLimits `toml:"rate_limits"`
	SSO        SSO        `toml:"sso"`

	AdminListen string `toml:"admin_listen"` // admin.go
	SecretsKey  string `toml:"secrets_key"`
	Admin       Admin  `toml:"admin"`
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

// Provider is one [providers.NAME] section: its keys are a providers.Spec
// (package providers owns them, their defaults and their rules), plus the
// label of its sign-in button.
type Provider struct {
	providers.Spec
	DisplayName string `json:"display_name,omitempty" toml:"display_name"` // default: the type's label, or the section name
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
	// ClientSecretHash is the SHA-256 of the secret of a tenant created
	// through the admin API, which keeps no secret in the clear.
	ClientSecretHash []byte `toml:"-"`
	// RefreshTokenDelivery is how refresh tokens reach the app: "body" (in
	// the token response JSON, the default) or "cookie" (only in an
	// HttpOnly cookie scoped to /auth/refresh and /auth/logout, so the
	// app's script never holds one).
	RefreshTokenDelivery string `toml:"refresh_token_delivery"`
	Access               Access `toml:"access"`
	Roles                []Role `toml:"roles"`
	// Claims are the tenant's custom claims, CEL expressions evaluated
	// at every token issuance (internal/claims).
	Claims []Claim `toml:"claims"`
	// BackchannelLogoutURI receives a logout token whenever one of the
	// tenant's sessions ends (OIDC Back-Channel Logout 1.0); empty: none.
	BackchannelLogoutURI string `toml:"backchannel_logout_uri"`
}

// Access restricts who may sign in to a tenant; empty means anyone.
type Access struct {
	EmailDomains []string `toml:"email_domains"`
	GitHubOrgs   []string `toml:"github_orgs"`
	Groups       []string `toml:"groups"` // the identity's upstream groups (GitHub orgs, GitLab groups, OIDC groups)
}

// Role grants Role to users matching any of the conditions.
type Role struct {
	Role         string   `toml:"role"`
	Emails       []string `toml:"emails"`
	EmailDomains []string `toml:"email_domains"`
	GitHubOrgs   []string `toml:"github_orgs"`
	Groups       []string `toml:"groups"`
	Everyone     bool     `toml:"everyone"`
	// Permissions are what the role lets its holders do, reported by
	// /auth/permissions (e.g. "posts:write"); the broker does not interpret them.
	Permissions []string `toml:"permissions"`
}

// Claim is one [[tenants.claims]] entry: a custom claim named Name whose
// value is the CEL expression Expr, put in the destinations In
// ("access_token", "id_token", "userinfo"; empty: all three).
type Claim struct {
	Name string   `toml:"name"`
	Expr string   `toml:"expr"`
	In   []string `toml:"in"`
}

// ClaimRules returns the tenant's claims as package claims takes them.
// The tenant must be valid (ValidateTenant).
func (t *Tenant) ClaimRules() []claims.Rule {
	if len(t.Claims) == 0 {
		return nil
	}
	rules := make([]claims.Rule, len(t.Claims))
	for i, c := range t.Claims {
		rules[i] = claims.Rule{Name: c.Name, Expr: c.Expr}
		for _, d := range c.In {
			in, _ := claims.ParseDestination(d)
			rules[i].In |= in
		}
	}
	return rules
}

// Duration is a time.Duration written as "15m", "720h" in TOML.
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration string ("90s", "15m", "720h").
func (d *Duration) UnmarshalText(text []byte) error {
	v, err := time.ParseDuration(string(text))
	if err != nil {
		return fmt.Errorf("invalid duration %q: want a number and a unit, like \"15m\" or \"720h\"", text)
	}
	d.Duration = v
	return nil
}

// MarshalText writes the duration the way UnmarshalText reads it.
func (d Duration) MarshalText() ([]byte, error) {
	return []byte(d.Duration.String()), nil
}

// CallbackURL is where the upstream provider sends the browser back:
// {issuer}/auth/{provider}/callback. It is the redirect URI to register
// with the upstream.
func (c *Config) CallbackURL(provider string) string {
	return c.Issuer + "/auth/" + provider + "/callback"
}

// TrustedProxyPrefixes returns TrustedProxies as prefixes; a bare address
// becomes a single-address prefix. Entries are validated by Parse.
func (c *Config) TrustedProxyPrefixes() []netip.Prefix {
	out := make([]netip.Prefix, 0, len(c.TrustedProxies))
	for _, s := range c.TrustedProxies {
		if p, ok := parseProxy(s); ok {
			out = append(out, p)
		}
	}
	return out
}

func parseProxy(s string) (netip.Prefix, bool) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err == nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, a.BitLen()), true
}

// Refresh token deliveries (Tenant.RefreshTokenDelivery).
const (
	DeliveryBody   = "body"
	DeliveryCookie = "cookie"
)

// CookieDelivery reports whether the tenant's refresh tokens travel only
// in an HttpOnly cookie (the "token-mediating backend" pattern of the IETF
// OAuth 2.0 for Browser-Based Applications BCP).
func (t *Tenant) CookieDelivery() bool { return t.RefreshTokenDelivery == DeliveryCookie }

// Confidential reports whether the tenant authenticates with a client
// secret; public tenants (SPAs, native apps) must use PKCE instead.
func (t *Tenant) Confidential() bool { return t.ClientSecret != "" || len(t.ClientSecretHash) > 0 }

// SecretHash is the SHA-256 of the tenant's client secret: the hash the
// admin API stored, or the hash of the secret config.toml holds.
func (t *Tenant) SecretHash() []byte {
	if len(t.ClientSecretHash) > 0 {
		return t.ClientSecretHash
	}
	h := sha256.Sum256([]byte(t.ClientSecret))
	return h[:]
}

// TrustsEmail reports whether this provider's verified emails may link an
// identity to an existing account. Parse always sets TrustEmail (from the
// type's default when the section does not); a nil value (a hand-built
// Provider) means no.
func (p *Provider) TrustsEmail() bool { return p.TrustEmail != nil && *p.TrustEmail }
