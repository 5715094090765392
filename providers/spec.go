package providers

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"time"
)

// Spec is one provider's settings as an operator writes them: a
// [providers.NAME] section of config.toml or, the same keys as JSON, a
// connection record. New builds a Provider from it; CheckSpec names what
// is wrong with it by key. Defaults (endpoints, scopes, trust) are not
// filled in here but by each type's constructor and by presets: a Spec
// holds only what was written.
type Spec struct {
	Name           string     `json:"id"`
	Type           string     `json:"type"`
	ClientID       string     `json:"client_id"`
	ClientSecret   string     `json:"client_secret,omitempty"`
	Issuer         string     `json:"issuer,omitempty"`
	Scopes         []string   `json:"scopes,omitempty"`
	TrustEmail     *bool      `json:"trust_email,omitempty"` // nil: the type's default (TrustsEmailByDefault)
	HostedDomain   string     `json:"hosted_domain,omitempty"`
	BaseURL        string     `json:"base_url,omitempty"`
	APIURL         string     `json:"api_url,omitempty"`
	Tenant         string     `json:"tenant,omitempty"`
	AllowedTenants []string   `json:"allowed_tenants,omitempty"`
	Authority      string     `json:"authority,omitempty"`
	TeamID         string     `json:"team_id,omitempty"`
	KeyID          string     `json:"key_id,omitempty"`
	PrivateKey     string     `json:"private_key,omitempty"`
	AuthorizeURL   string     `json:"authorize_url,omitempty"`
	TokenURL       string     `json:"token_url,omitempty"`
	UserinfoURL    string     `json:"userinfo_url,omitempty"`
	Claims         ClaimPaths `json:"claims,omitzero"`
}

// Deps are what every provider is given beside its Spec.
type Deps struct {
	// HTTPClient carries every upstream call; its Timeout bounds each.
	HTTPClient *http.Client
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// preset is a well-known service as data on top of the oauth2 or oidc
// type: its endpoints, scopes and field names, never a code path of its
// own. Every URL is overridable: base_url replaces the scheme and host of
// each oauth2 endpoint (a fake's in tests), issuer the OIDC issuer.
type preset struct {
	base            string // "oauth2" or "oidc"
	label           string
	issuer          string // oidc
	authorize       string // oauth2
	token           string
	userinfo        string
	scopes          []string
	claims          ClaimPaths
	secretInParams  bool
	neverTrustEmail bool
	noPKCE          bool // oidc: see quirks.noPKCE
	nonceOptional   bool // oidc: see quirks.nonceOptional
}

var presets = map[string]preset{
	// Discord: OAuth 2.0 only. /users/@me answers id, username,
	// global_name, and with the email scope email and verified.
	"discord": {
		base: "oauth2", label: "Discord",
		authorize: "https://discord.com/oauth2/authorize",
		token:     "https://discord.com/api/oauth2/token",
		userinfo:  "https://discord.com/api/users/@me",
		scopes:    []string{"identify", "email"},
		claims:    ClaimPaths{Subject: "id", Email: "email", EmailVerified: "verified", Name: "global_name", Username: "username"},
	},
	// Facebook: the Graph API. It says nothing about whether the email was
	// verified, and auto-linking on it has led to account takeovers: its
	// email is never trusted, whatever trust_email says. Graph API v25.0
	// is served until July 2028; Meta answers a call to an expired version
	// with the oldest one still served.
	"facebook": {
		base: "oauth2", label: "Facebook",
		authorize: "https://www.facebook.com/v25.0/dialog/oauth",
		token:     "https://graph.facebook.com/v25.0/oauth/access_token",
		userinfo:  "https://graph.facebook.com/v25.0/me?fields=id,name,email,picture",
		scopes:    []string{"public_profile", "email"},
		claims:    ClaimPaths{Subject: "id", Email: "email", Name: "name", Picture: "picture.data.url"},
		// Facebook reads client credentials from the request's parameters.
		secretInParams: true, neverTrustEmail: true,
	},
	// LinkedIn: "Sign In with LinkedIn using OpenID Connect". Its
	// discovery says client_secret_post, which OIDC honours; its
	// email_verified is a string, which the claims reader accepts. It
	// departs from OIDC twice, as Keycloak's and others' LinkedIn
	// connectors work around: its ID tokens carry no nonce, and its token
	// endpoint refuses a confidential client that sends a code_verifier
	// (invalid_client), so none is sent. What is left against an injected
	// code (RFC 9700 §4.5) is that LinkedIn binds it to this client and
	// redirect URI and the broker's state to the browser.
	"linkedin": {base: "oidc", label: "LinkedIn", issuer: "https://www.linkedin.com/oauth", scopes: []string{"openid", "profile", "email"},
		noPKCE: true, nonceOptional: true},
	// Slack: "Sign in with Slack" is plain OpenID Connect.
	"slack": {base: "oidc", label: "Slack", issuer: "https://slack.com", scopes: []string{"openid", "profile", "email"}},
}

// Types lists every provider type, presets included.
func Types() []string {
	t := []string{"google", "github", "oidc", "microsoft", "apple", "gitlab", "oauth2"}
	for name := range presets {
		t = append(t, name)
	}
	sort.Strings(t[7:])
	return t
}

// Label is how a type names itself on the sign-in page when the section
// sets no display_name; "" for the generic types.
func Label(typ string) string {
	switch typ {
	case "google":
		return "Google"
	case "github":
		return "GitHub"
	case "microsoft":
		return "Microsoft"
	case "apple":
		return "Apple"
	case "gitlab":
		return "GitLab"
	}
	return presets[typ].label
}

// TrustsEmailByDefault is trust_email's default per type: the services
// that verify every address they mark verified and are trusted to say so
// (Google and Microsoft are further narrowed per identity). Generic OIDC
// and OAuth 2.0, GitLab (any self-managed host's admin sets any address)
// and the presets built on them are opt-in.
func TrustsEmailByDefault(typ string) bool {
	switch typ {
	case "google", "github", "microsoft", "apple":
		return true
	}
	return false
}

// New builds the provider a Spec describes. It does no network I/O.
func New(s Spec, d Deps) (Provider, error) {
	if d.HTTPClient == nil {
		return nil, fmt.Errorf("providers: %s: HTTP client is required", s.Name)
	}
	trust := TrustsEmailByDefault(s.Type)
	if s.TrustEmail != nil {
		trust = *s.TrustEmail
	}
	oc := OIDCConfig{
		Name: s.Name, Issuer: s.Issuer, ClientID: s.ClientID, ClientSecret: s.ClientSecret,
		Scopes: s.Scopes, TrustEmail: trust, HostedDomain: s.HostedDomain,
		HTTPClient: d.HTTPClient, Now: d.Now,
	}
	if p, ok := presets[s.Type]; ok {
		return p.build(s, oc)
	}
	switch s.Type {
	case "google":
		return NewGoogle(oc)
	case "github":
		return NewGitHub(GitHubConfig{Name: s.Name, ClientID: s.ClientID, ClientSecret: s.ClientSecret,
			BaseURL: s.BaseURL, APIURL: s.APIURL, HTTPClient: d.HTTPClient})
	case "oidc":
		return NewOIDC(oc)
	case "microsoft":
		return NewMicrosoft(MicrosoftConfig{OIDC: oc, Tenant: s.Tenant, AllowedTenants: s.AllowedTenants, Authority: s.Authority})
	case "apple":
		return NewApple(AppleConfig{OIDC: oc, TeamID: s.TeamID, KeyID: s.KeyID, PrivateKey: s.PrivateKey})
	case "gitlab":
		return NewGitLab(oc, s.BaseURL)
	case "oauth2":
		return NewOAuth2(OAuth2Config{Name: s.Name, ClientID: s.ClientID, ClientSecret: s.ClientSecret,
			AuthorizeURL: s.AuthorizeURL, TokenURL: s.TokenURL, UserinfoURL: s.UserinfoURL,
			Scopes: s.Scopes, Claims: s.Claims, TrustEmail: trust, HTTPClient: d.HTTPClient})
	}
	return nil, fmt.Errorf("providers: %s: unknown type %q", s.Name, s.Type)
}

func (p preset) build(s Spec, oc OIDCConfig) (Provider, error) {
	if p.neverTrustEmail {
		oc.TrustEmail = false
	}
	if len(oc.Scopes) == 0 {
		oc.Scopes = p.scopes
	}
	if p.base == "oidc" {
		oc.Issuer = cmpOr(s.Issuer, p.issuer)
		o, err := NewOIDC(oc)
		if err != nil {
			return nil, err
		}
		o.q.noPKCE, o.q.nonceOptional = p.noPKCE, p.nonceOptional
		return o, nil
	}
	claims := p.claims
	for dst, v := range map[*string]string{&claims.Subject: s.Claims.Subject, &claims.Email: s.Claims.Email,
		&claims.EmailVerified: s.Claims.EmailVerified, &claims.Name: s.Claims.Name,
		&claims.Username: s.Claims.Username, &claims.Picture: s.Claims.Picture} {
		if v != "" {
			*dst = v
		}
	}
	if p.neverTrustEmail {
		claims.EmailVerified = "" // and so never verified either
	}
	endpoint := func(set, def string) (string, error) {
		if set != "" {
			return set, nil
		}
		return rebase(def, s.BaseURL)
	}
	var urls [3]string
	for i, e := range [][2]string{{s.AuthorizeURL, p.authorize}, {s.TokenURL, p.token}, {s.UserinfoURL, p.userinfo}} {
		u, err := endpoint(e[0], e[1])
		if err != nil {
			return nil, fmt.Errorf("%s: %s: base_url: %w", s.Type, s.Name, err)
		}
		urls[i] = u
	}
	return NewOAuth2(OAuth2Config{Name: s.Name, ClientID: s.ClientID, ClientSecret: s.ClientSecret,
		AuthorizeURL: urls[0], TokenURL: urls[1], UserinfoURL: urls[2], Scopes: oc.Scopes, Claims: claims,
		TrustEmail: oc.TrustEmail, SecretInParams: p.secretInParams, HTTPClient: oc.HTTPClient})
}

// rebase puts def's path and query on base's scheme and host (and path
// prefix); def itself when base is empty.
func rebase(def, base string) (string, error) {
	if base == "" {
		return def, nil
	}
	b, err := url.Parse(base)
	if err != nil || (b.Scheme != "http" && b.Scheme != "https") || b.Host == "" || b.RawQuery != "" {
		return "", fmt.Errorf("%q is not an absolute http(s) URL", base)
	}
	d, _ := url.Parse(def)
	b.Path = trimSlash(b.Path) + d.Path
	b.RawQuery = d.RawQuery
	return b.String(), nil
}

func trimSlash(s string) string {
	for len(s) > 0 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	return s
}

// Problem is one thing wrong with a Spec, by key ("team_id").
type Problem struct{ Key, Message string }

// CheckSpec names what is wrong with a Spec of one of the second round's
// types (microsoft, apple, gitlab, oauth2 and the presets) key by key, and,
// for every type, the keys of those types that it would ignore. google,
// github and oidc sections are checked by internal/config.
func CheckSpec(s Spec) []Problem {
	var ps []Problem
	add := func(key, format string, a ...any) { ps = append(ps, Problem{key, fmt.Sprintf(format, a...)}) }
	used := keysOf(s.Type)
	for _, k := range setKeys(s) {
		if !slices.Contains(used, k) && (slices.Contains(newKeys, k) || used != nil) {
			add(k, "not used by %s providers", s.Type)
		}
	}
	if used == nil { // google, github, oidc
		return ps
	}
	need := func(key, v string) {
		if v == "" {
			add(key, "required for %s providers", s.Type)
		}
	}
	checkURL := func(key, v string, check func(string) error) {
		if v != "" {
			if err := check(v); err != nil {
				add(key, "%v", err)
			}
		}
	}
	need("client_id", s.ClientID)
	switch s.Type {
	case "apple":
		need("team_id", s.TeamID)
		need("key_id", s.KeyID)
		if _, err := parseP8(s.PrivateKey); err != nil {
			add("private_key", "%v", err)
		}
	case "oauth2":
		need("authorize_url", s.AuthorizeURL)
		need("token_url", s.TokenURL)
		need("userinfo_url", s.UserinfoURL)
		need("claims.subject", s.Claims.Subject)
	case "microsoft":
		if _, err := NewMicrosoft(MicrosoftConfig{OIDC: OIDCConfig{Name: "x", ClientID: "x", HTTPClient: http.DefaultClient},
			Tenant: s.Tenant, AllowedTenants: s.AllowedTenants, Authority: s.Authority}); err != nil {
			add("tenant", "%v", err)
		}
	}
	if s.Type != "apple" {
		need("client_secret", s.ClientSecret)
	}
	if s.Type == "facebook" && s.TrustEmail != nil && *s.TrustEmail {
		add("trust_email", "Facebook does not say whether an email is verified: its emails are never trusted")
	}
	checkURL("issuer", s.Issuer, checkBaseURL)
	checkURL("base_url", s.BaseURL, checkBaseURL)
	checkURL("authority", s.Authority, checkBaseURL)
	checkURL("authorize_url", s.AuthorizeURL, checkEndpointURL)
	checkURL("token_url", s.TokenURL, checkEndpointURL)
	checkURL("userinfo_url", s.UserinfoURL, checkEndpointURL)
	isOIDC := presets[s.Type].base == "oidc" || s.Type == "microsoft" || s.Type == "apple" || s.Type == "gitlab"
	if isOIDC && len(s.Scopes) > 0 && !slices.Contains(s.Scopes, "openid") {
		add("scopes", `must include "openid"`)
	}
	return ps
}

// newKeys are the keys only the second round's types use.
var newKeys = []string{"tenant", "allowed_tenants", "authority", "team_id", "key_id", "private_key",
	"authorize_url", "token_url", "userinfo_url", "claims"}

// keysOf lists the keys a type reads besides client_id, display_name and
// trust_email; nil for google, github and oidc, whose keys
// internal/config checks.
func keysOf(typ string) []string {
	common := []string{"client_id", "client_secret", "scopes", "trust_email"}
	switch typ {
	case "microsoft":
		return append(common, "tenant", "allowed_tenants", "authority")
	case "apple":
		return []string{"client_id", "scopes", "trust_email", "issuer", "team_id", "key_id", "private_key"}
	case "gitlab":
		return append(common, "base_url")
	case "oauth2":
		return append(common, "authorize_url", "token_url", "userinfo_url", "claims")
	}
	switch presets[typ].base {
	case "oauth2":
		return append(common, "base_url", "authorize_url", "token_url", "userinfo_url", "claims")
	case "oidc":
		return append(common, "issuer")
	}
	return nil
}

// setKeys lists the keys a Spec sets.
func setKeys(s Spec) []string {
	var keys []string
	for k, set := range map[string]bool{
		"client_secret": s.ClientSecret != "", "issuer": s.Issuer != "", "scopes": len(s.Scopes) > 0,
		"hosted_domain": s.HostedDomain != "", "base_url": s.BaseURL != "", "api_url": s.APIURL != "",
		"tenant": s.Tenant != "", "allowed_tenants": len(s.AllowedTenants) > 0, "authority": s.Authority != "",
		"team_id": s.TeamID != "", "key_id": s.KeyID != "", "private_key": s.PrivateKey != "",
		"authorize_url": s.AuthorizeURL != "", "token_url": s.TokenURL != "", "userinfo_url": s.UserinfoURL != "",
		"claims": s.Claims != (ClaimPaths{}),
	} {
		if set {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys
}
