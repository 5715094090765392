package providers

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"
)

// Spec is one provider's settings as an operator writes them: a
// [providers.NAME] section of config.toml or, the same keys as JSON, a
// connection record. New builds a Provider from it; CheckSpec names what
// is wrong with it by key. A Spec holds what was written; WithDefaults
// adds what its type supplies for the rest.
type Spec struct {
	Name           string     `json:"id" toml:"-"` // a section's name, not one of its keys
	Type           string     `json:"type" toml:"type"`
	ClientID       string     `json:"client_id" toml:"client_id"`
	ClientSecret   string     `json:"client_secret,omitempty" toml:"client_secret"`
	Issuer         string     `json:"issuer,omitempty" toml:"issuer"`
	Scopes         []string   `json:"scopes,omitempty" toml:"scopes"`
	TrustEmail     *bool      `json:"trust_email,omitempty" toml:"trust_email"` // nil: the type's default (TrustsEmailByDefault)
	HostedDomain   string     `json:"hosted_domain,omitempty" toml:"hosted_domain"`
	BaseURL        string     `json:"base_url,omitempty" toml:"base_url"`
	APIURL         string     `json:"api_url,omitempty" toml:"api_url"`
	Tenant         string     `json:"tenant,omitempty" toml:"tenant"`
	AllowedTenants []string   `json:"allowed_tenants,omitempty" toml:"allowed_tenants"`
	Authority      string     `json:"authority,omitempty" toml:"authority"`
	TeamID         string     `json:"team_id,omitempty" toml:"team_id"`
	KeyID          string     `json:"key_id,omitempty" toml:"key_id"`
	PrivateKey     string     `json:"private_key,omitempty" toml:"private_key"`
	AuthorizeURL   string     `json:"authorize_url,omitempty" toml:"authorize_url"`
	TokenURL       string     `json:"token_url,omitempty" toml:"token_url"`
	UserinfoURL    string     `json:"userinfo_url,omitempty" toml:"userinfo_url"`
	Claims         ClaimPaths `json:"claims,omitzero" toml:"claims"`
}

// kind is a provider type as data (the model is x/oauth2's endpoint
// packages): how the sign-in page names it, whether its emails are trusted
// by default, the keys it reads and what it supplies for those a Spec
// leaves out. The constructors read the same constants.
type kind struct {
	label    string // "" for the generic types
	trusts   bool   // trust_email's default
	oidc     bool   // OpenID Connect: scopes must include openid
	keys     []string
	defaults Spec
}

// builtin are the types with code of their own, in the order Types names
// them; presets follow.
var builtin = []string{"google", "github", "oidc", "microsoft", "apple", "gitlab", "oauth2"}

// kinds: trust_email defaults to true for the services that verify every
// address they mark verified and are trusted to say so (Google and
// Microsoft are further narrowed per identity). Generic OIDC and OAuth 2.0,
// GitLab (any self-managed host's admin sets any address) and the presets
// built on them are opt-in. Every type reads client_id and trust_email.
var kinds = map[string]kind{
	"google": {label: "Google", trusts: true, oidc: true, keys: []string{"client_secret", "scopes", "issuer", "hosted_domain"},
		defaults: Spec{Issuer: GoogleIssuer, Scopes: DefaultScopes()}},
	"github": {label: "GitHub", trusts: true, keys: []string{"client_secret", "base_url", "api_url"},
		defaults: Spec{BaseURL: GitHubURL, APIURL: GitHubAPIURL}},
	"oidc": {oidc: true, keys: []string{"client_secret", "scopes", "issuer"},
		defaults: Spec{Scopes: DefaultScopes()}},
	"microsoft": {label: "Microsoft", trusts: true, oidc: true, keys: []string{"client_secret", "scopes", "tenant", "allowed_tenants", "authority"},
		defaults: Spec{Authority: MicrosoftAuthority, Scopes: DefaultScopes()}},
	"apple": {label: "Apple", trusts: true, oidc: true, keys: []string{"scopes", "issuer", "team_id", "key_id", "private_key"},
		defaults: Spec{Issuer: AppleIssuer, Scopes: AppleScopes()}},
	"gitlab": {label: "GitLab", oidc: true, keys: []string{"client_secret", "scopes", "base_url"},
		defaults: Spec{BaseURL: GitLabURL, Scopes: DefaultScopes()}},
	"oauth2": {keys: []string{"client_secret", "scopes", "authorize_url", "token_url", "userinfo_url", "claims"}},
}

// kindOf returns a type's kind; a preset's is its base's with its own
// label and defaults (its endpoints are not defaults: base_url rebases
// them, see build).
func kindOf(typ string) (kind, bool) {
	if k, ok := kinds[typ]; ok {
		return k, true
	}
	p, ok := presets[typ]
	if !ok {
		return kind{}, false
	}
	k := kinds[p.base]
	k.label, k.trusts, k.defaults = p.label, false, Spec{Issuer: p.issuer, Scopes: p.scopes}
	if p.base == "oauth2" {
		k.keys = append(slices.Clone(k.keys), "base_url")
	}
	return k, true
}

// WithDefaults returns s with its type's defaults in the keys it leaves
// out (endpoints, scopes, trust_email): the settings New uses, for callers
// that show or store them. An unknown type gets only trust_email = false.
func (s Spec) WithDefaults() Spec {
	k, _ := kindOf(s.Type)
	if s.TrustEmail == nil {
		s.TrustEmail = &k.trusts
	}
	d := k.defaults
	s.Issuer = cmp.Or(s.Issuer, d.Issuer)
	s.BaseURL = cmp.Or(s.BaseURL, d.BaseURL)
	s.APIURL = cmp.Or(s.APIURL, d.APIURL)
	s.Authority = cmp.Or(s.Authority, d.Authority)
	if len(s.Scopes) == 0 {
		s.Scopes = slices.Clone(d.Scopes)
	}
	return s
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
	t := slices.Clone(builtin)
	for name := range presets {
		t = append(t, name)
	}
	sort.Strings(t[len(builtin):])
	return t
}

// Label is how a type names itself on the sign-in page when the section
// sets no display_name; "" for the generic types.
func Label(typ string) string {
	k, _ := kindOf(typ)
	return k.label
}

// TrustsEmailByDefault is trust_email's default per type (see kinds).
func TrustsEmailByDefault(typ string) bool {
	k, _ := kindOf(typ)
	return k.trusts
}

// New builds the provider a Spec describes. It does no network I/O.
func New(s Spec, d Deps) (Provider, error) {
	if d.HTTPClient == nil {
		return nil, fmt.Errorf("providers: %s: HTTP client is required", s.Name)
	}
	s = s.WithDefaults()
	trust := *s.TrustEmail
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
			BaseURL: s.BaseURL, APIURL: s.APIURL, HTTPClient: d.HTTPClient, DistrustEmail: !trust})
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
	if p.base == "oidc" { // issuer and scopes: WithDefaults
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

// Problem is one thing wrong with a Spec: Field is its key ("team_id",
// "claims.subject"), Message what is wrong, never quoting a secret.
type Problem struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// CheckSpec names what is wrong with a Spec, key by key: a type it does
// not know, keys its type needs and lacks, malformed URLs, and keys its
// type would ignore (a misspelt intent should not pass silently). It
// checks what was written, before WithDefaults; Name is the caller's.
func CheckSpec(s Spec) []Problem {
	var ps []Problem
	add := func(key, format string, a ...any) { ps = append(ps, Problem{key, fmt.Sprintf(format, a...)}) }
	kd, known := kindOf(s.Type)
	switch {
	case s.Type == "":
		add("type", "required: one of %s", strings.Join(Types(), ", "))
		return ps
	case !known:
		add("type", "want one of %s, got %q", strings.Join(Types(), ", "), s.Type)
		return ps
	}
	for _, k := range setKeys(s) {
		if !slices.Contains(kd.keys, k) {
			add(k, "%s", unusedKey(s.Type, k))
		}
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
	case "oidc":
		// The issuer is compared byte for byte with the ID token's iss
		// (OpenID Connect Discovery §4.3): it has no default.
		need("issuer", s.Issuer)
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
	// Apple's secret is a JWT the broker signs; a generic OIDC client may
	// be public. Every other service issues a secret to web applications.
	if s.Type != "apple" && s.Type != "oidc" {
		need("client_secret", s.ClientSecret)
	}
	if s.Type == "facebook" && s.TrustEmail != nil && *s.TrustEmail {
		add("trust_email", "Facebook does not say whether an email is verified: its emails are never trusted")
	}
	checkURL("issuer", s.Issuer, checkBaseURL)
	checkURL("base_url", s.BaseURL, checkBaseURL)
	checkURL("api_url", s.APIURL, checkBaseURL)
	checkURL("authority", s.Authority, checkBaseURL)
	checkURL("authorize_url", s.AuthorizeURL, checkEndpointURL)
	checkURL("token_url", s.TokenURL, checkEndpointURL)
	checkURL("userinfo_url", s.UserinfoURL, checkEndpointURL)
	// Without openid the upstream answers plain OAuth 2.0 with no ID token
	// (OIDC Core §3.1.2.1).
	if kd.oidc && len(s.Scopes) > 0 && !slices.Contains(s.Scopes, "openid") {
		add("scopes", `must include "openid"`)
	}
	return ps
}

// unusedHints say what to do instead of setting a key a type ignores,
// where the list of types that read it would not.
var unusedHints = map[string]string{
	"github.issuer": "GitHub is not OpenID Connect: set base_url and api_url for GitHub Enterprise Server",
	"github.scopes": "the broker asks GitHub for the scopes it needs",
}

// unusedKey says why typ refuses key, naming the types that read it.
func unusedKey(typ, key string) string {
	if hint := unusedHints[typ+"."+key]; hint != "" {
		return "not used by " + typ + " providers; " + hint
	}
	var readers []string
	for _, t := range Types() {
		if k, _ := kindOf(t); slices.Contains(k.keys, key) {
			readers = append(readers, t)
		}
	}
	if len(readers) > 1 {
		readers = append(readers[:len(readers)-2], readers[len(readers)-2]+" and "+readers[len(readers)-1])
	}
	return fmt.Sprintf("not used by %s providers: only for %s providers", typ, strings.Join(readers, ", "))
}

// setKeys lists the keys a Spec sets, besides client_id and trust_email
// (which every type reads).
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
