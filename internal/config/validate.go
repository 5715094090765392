package config

import (
	"net"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/socialbroker/broker/internal/claims"
	"github.com/socialbroker/broker/providers"
)

// MinClientSecretLength is the shortest tenant client_secret accepted.
const MinClientSecretLength = 32

var (
	providerName = regexp.MustCompile(`^[a-z0-9_-]+$`)     // a {provider} URL path segment
	tenantID     = regexp.MustCompile(`^[A-Za-z0-9._-]+$`) // an OAuth client_id
)

// validate checks c and normalises it in place (trailing slashes, case).
// It never quotes secret values (client secrets, database URLs) in problems.
func validate(c *Config, ps *problems) {
	validateServer(c, ps)
	validateAdmin(c, ps)
	validateTokens(&c.Tokens, ps)
	validateProviders(c, ps)
	validateTenants(c, ps)
	validateRateLimits(&c.RateLimits, ps)
	validateSSO(&c.SSO, ps)
}

func validateServer(c *Config, ps *problems) {
	if c.Issuer == "" {
		ps.add("issuer", `required: the broker's public base URL, like "https://auth.example.com"`)
	} else if msg := checkHTTPURL(c.Issuer); msg != "" {
		ps.add("issuer", "%s", msg)
	} else {
		// Callbacks and token iss are built as issuer + path.
		c.Issuer = strings.TrimRight(c.Issuer, "/")
	}

	checkListen("listen", c.Listen, ps)
	if c.MetricsListen != "" {
		checkListen("metrics_listen", c.MetricsListen, ps)
		if c.MetricsListen == c.Listen && !strings.HasSuffix(c.Listen, ":0") { // port 0: two free ports
			ps.add("metrics_listen", "is the same address as listen: leave it out to serve /metrics there, or give it its own port")
		}
	}

	for i, s := range c.TrustedProxies {
		if _, ok := parseProxy(s); !ok {
			ps.add(index("trusted_proxies", i), "%q is not an IP address or CIDR prefix", s)
		}
	}
	for _, d := range []struct {
		key string
		v   Duration
	}{{"upstream_timeout", c.UpstreamTimeout}, {"login_ttl", c.LoginTTL}} {
		if d.v.Duration <= 0 {
			ps.add(d.key, "must be greater than 0")
		}
	}

	if c.ShutdownDelay.Duration < 0 {
		ps.add("shutdown_delay", "must not be negative (0 stops at once)")
	}
	if c.MaxInFlight < 0 {
		ps.add("max_in_flight", "must not be negative (0 sets no bound)")
	}

	c.LogLevel = strings.ToLower(c.LogLevel)
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		ps.add("log_level", `want "debug", "info", "warn" or "error", got %q`, c.LogLevel)
	}

	// The URL may hold a password: never echo it.
	u := c.Database.URL
	switch {
	case strings.HasPrefix(u, "sqlite:"):
		if strings.TrimPrefix(u, "sqlite:") == "" {
			ps.add("database.url", `sqlite: needs a file path, like "sqlite:./broker.db"`)
		}
	case strings.HasPrefix(u, "postgres://"), strings.HasPrefix(u, "postgresql://"):
		if _, err := url.Parse(u); err != nil {
			ps.add("database.url", "not a valid postgres:// URL (check that special characters in the password are percent-encoded)")
		}
	default:
		ps.add("database.url", `want "sqlite:PATH" or "postgres://user:password@host:5432/db"`)
	}
}

// checkListen checks an address to listen on.
func checkListen(key, addr string, ps *problems) {
	if host, port, err := net.SplitHostPort(addr); err != nil {
		ps.add(key, `want host:port, like "127.0.0.1:8080" or ":8080"`)
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		ps.add(key, "port %q is not a number from 0 to 65535", port)
	} else if strings.ContainsAny(host, " /") {
		ps.add(key, "host %q is not a host name or address", host)
	}
}

func validateTokens(t *Tokens, ps *problems) {
	switch t.SigningAlg {
	case "ES256", "EdDSA", "RS256":
	default:
		ps.add("tokens.signing_alg", `want "ES256", "EdDSA" or "RS256", got %q`, t.SigningAlg)
	}
	for _, d := range []struct {
		key string
		v   Duration
	}{
		{"tokens.access_ttl", t.AccessTTL},
		{"tokens.id_token_ttl", t.IDTokenTTL},
		{"tokens.refresh_idle_ttl", t.RefreshIdleTTL},
		{"tokens.refresh_max_ttl", t.RefreshMaxTTL},
		{"tokens.code_ttl", t.CodeTTL},
		{"tokens.key_rotation", t.KeyRotation},
	} {
		if d.v.Duration <= 0 {
			ps.add(d.key, "must be greater than 0")
		}
	}
	// RFC 6749 §4.1.2: "A maximum authorization code lifetime of 10 minutes
	// is RECOMMENDED."
	if t.CodeTTL.Duration > 10*time.Minute {
		ps.add("tokens.code_ttl", "must be at most 10m (RFC 6749 §4.1.2)")
	}
	switch {
	case t.RefreshReuseGrace.Duration < 0:
		ps.add("tokens.refresh_reuse_grace", "must not be negative")
	case t.RefreshIdleTTL.Duration > 0 && t.RefreshReuseGrace.Duration >= t.RefreshIdleTTL.Duration:
		ps.add("tokens.refresh_reuse_grace", "must be shorter than tokens.refresh_idle_ttl (%s)", t.RefreshIdleTTL.Duration)
	}
	if t.RefreshMaxTTL.Duration > 0 && t.RefreshIdleTTL.Duration > t.RefreshMaxTTL.Duration {
		ps.add("tokens.refresh_idle_ttl", "must not be longer than tokens.refresh_max_ttl (%s)", t.RefreshMaxTTL.Duration)
	}
}

func validateProviders(c *Config, ps *problems) {
	if len(c.Providers) == 0 {
		ps.add("providers", "at least one provider is required, like [providers.google]")
		return
	}
	names := make([]string, 0, len(c.Providers))
	for name := range c.Providers {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p := c.Providers[name]
		key := join("providers", name)
		if p.Type == "" { // the file's wording for CheckSpec's "type: required"
			ps.add(key+".type", `required for a provider not named after its type: set type = "oidc", "oauth2", "microsoft"...`)
		}
		for _, pr := range ValidateProvider(p.Spec) {
			if pr.Field == "id" { // the name is the section's key
				ps.add(key, "%s", pr.Message)
			} else {
				ps.add(key+"."+pr.Field, "%s", pr.Message)
			}
		}
	}
}

// ValidateProvider checks one provider as written, before its defaults:
// its name (Field "id", as in a connection record), which is a URL path
// segment, and its keys, whose rules package providers owns.
func ValidateProvider(s providers.Spec) []Problem {
	var ps []Problem
	if !providerName.MatchString(s.Name) {
		ps = append(ps, Problem{"id", "provider names are URL path segments: use only a-z, 0-9, _ and -"})
	}
	for _, p := range providers.CheckSpec(s) {
		ps = append(ps, Problem(p))
	}
	return ps
}

func validateTenants(c *Config, ps *problems) {
	if len(c.Tenants) == 0 {
		ps.add("tenants", "at least one [[tenants]] entry is required")
		return
	}
	hasProvider := func(name string) bool { _, ok := c.Providers[name]; return ok }
	ids := make(map[string]int)
	for i := range c.Tenants {
		t := &c.Tenants[i]
		key := index("tenants", i)
		ps.addAll(key, ValidateTenant(t, c.Issuer, hasProvider))
		if j, dup := ids[t.ID]; dup {
			ps.add(key+".id", "%q is already the id of tenants[%d]", t.ID, j) // unless its id had a problem already
		} else {
			ids[t.ID] = i
		}
	}
}

// ValidateTenant checks one tenant on its own, each problem's Field
// relative to it ("redirect_uris[0]"), and fills in its defaults (name,
// refresh_token_delivery). issuer is the broker's, hasProvider says
// whether a provider name exists. That ids are unique is the caller's
// concern.
func ValidateTenant(t *Tenant, issuer string, hasProvider func(name string) bool) []Problem {
	var ps problems
	switch {
	case t.ID == "":
		ps.add("id", "required")
	case !tenantID.MatchString(t.ID):
		ps.add("id", "%q: use only A-Z, a-z, 0-9, '.', '_' and '-'", t.ID)
	}
	t.Name = t.DisplayName()

	// RFC 6749 §10.10: client credentials must not be guessable, and a
	// client_secret is a password (§2.3.1). 32 characters is about 190
	// bits when random base64; a secret a person made up is shorter.
	if n := utf8.RuneCountInString(t.ClientSecret); n > 0 && n < MinClientSecretLength {
		ps.add("client_secret", "too short (%d characters): use at least %d random characters, like the output of `openssl rand -base64 32` (RFC 6749 §10.10)", n, MinClientSecretLength)
	}

	if len(t.Providers) == 0 {
		ps.add("providers", `at least one provider is required, like ["google"]`)
	}
	for j, name := range t.Providers {
		if !hasProvider(name) {
			ps.add(index("providers", j), "no provider %q in [providers]", name)
		} else if slices.Index(t.Providers, name) < j {
			ps.add(index("providers", j), "%q is listed twice", name)
		}
	}

	if len(t.RedirectURIs) == 0 {
		ps.add("redirect_uris", "at least one redirect URI is required")
	}
	for j, u := range t.RedirectURIs {
		if msg := checkRedirectURI(u); msg != "" {
			ps.add(index("redirect_uris", j), "%s", msg)
		}
	}
	for j, u := range t.PostLogoutRedirectURIs {
		if msg := checkRedirectURI(u); msg != "" {
			ps.add(index("post_logout_redirect_uris", j), "%s", msg)
		}
	}
	for j, o := range t.AllowedOrigins {
		if msg := checkOrigin(o); msg != "" {
			ps.add(index("allowed_origins", j), "%s", msg)
		}
	}

	validateAccess(t, &ps)
	validateClaims(t, &ps)
	validateDelivery(issuer, t, &ps)
	validateBackchannel(t, &ps)
	return ps.list
}

// validateAccess checks who may sign in ([tenants.access]) and the roles.
func validateAccess(t *Tenant, ps *problems) {
	checkDomains("access.email_domains", t.Access.EmailDomains, ps)
	checkNonEmpty("access.github_orgs", t.Access.GitHubOrgs, ps)
	checkNonEmpty("access.groups", t.Access.Groups, ps)
	for j, r := range t.Roles {
		rk := index("roles", j)
		if r.Role == "" {
			ps.add(rk+".role", "required: the role name put in tokens")
		}
		if !r.Everyone && len(r.Emails) == 0 && len(r.EmailDomains) == 0 && len(r.GitHubOrgs) == 0 && len(r.Groups) == 0 {
			ps.add(rk, "grants the role to nobody: set emails, email_domains, github_orgs, groups or everyone = true")
		}
		checkNonEmpty(rk+".emails", r.Emails, ps)
		checkDomains(rk+".email_domains", r.EmailDomains, ps)
		checkNonEmpty(rk+".github_orgs", r.GitHubOrgs, ps)
		checkNonEmpty(rk+".groups", r.Groups, ps)
	}
}

// validateClaims checks [[tenants.claims]]: names neither reserved nor
// repeated, known destinations, and expressions that compile and
// type-check (internal/claims), each problem naming its key.
func validateClaims(t *Tenant, ps *problems) {
	if len(t.Claims) > claims.MaxClaims {
		ps.add("claims", "%d claims: at most %d", len(t.Claims), claims.MaxClaims)
	}
	for j, c := range t.Claims {
		ck := index("claims", j)
		if msg := claims.CheckName(c.Name); msg != "" {
			ps.add(ck+".name", "%s", msg)
		} else if k := slices.IndexFunc(t.Claims, func(o Claim) bool { return o.Name == c.Name }); k < j {
			ps.add(ck+".name", "%q is already the name of claims[%d]", c.Name, k)
		}
		if msg := claims.Check(c.Expr); msg != "" {
			ps.add(ck+".expr", "%s", msg)
		}
		for k, d := range c.In {
			if _, ok := claims.ParseDestination(d); !ok {
				ps.add(index(ck+".in", k), `want "access_token", "id_token" or "userinfo", got %q`, d)
			} else if slices.Index(c.In, d) < k {
				ps.add(index(ck+".in", k), "%q is listed twice", d)
			}
		}
	}
}

// validateDelivery checks refresh_token_delivery; empty means "body".
func validateDelivery(issuer string, t *Tenant, ps *problems) {
	const key = "refresh_token_delivery"
	switch t.RefreshTokenDelivery {
	case "":
		t.RefreshTokenDelivery = DeliveryBody
		return
	case DeliveryBody:
		return
	case DeliveryCookie:
	default:
		ps.add(key, `want "body" or "cookie", got %q`, t.RefreshTokenDelivery)
		return
	}
	if t.Confidential() {
		ps.add(key, `"cookie" is for browser apps (public tenants): a confidential tenant keeps its refresh token on its server`)
	}
	if len(t.AllowedOrigins) == 0 {
		ps.add(key, `"cookie" needs allowed_origins: refresh and logout are accepted only from those origins`)
	}
	// The cookie is SameSite=Strict: a browser sends it only on requests
	// from a page of the broker's own site (same scheme and registrable
	// domain), so an app on another site could never refresh.
	iu, err := url.Parse(issuer)
	if err != nil {
		return
	}
	for j, o := range t.AllowedOrigins {
		if ou, err := url.Parse(o); err == nil && ou.Host != "" && !maybeSameSite(iu, ou) {
			ps.add(index("allowed_origins", j),
				"%q is not on the issuer's site (scheme and registrable domain): the browser would never send the refresh cookie (SameSite) from it", o)
		}
	}
}

// maybeSameSite is false only when a and b are certainly different sites
// (RFC 6265bis "same-site", schemeful): different schemes, different IP
// addresses or single-label hosts, or different last two labels (a
// registrable domain has at least two, so those differing proves a
// different site). Without a public suffix list it may answer true for
// two sites under one suffix, like a.co.uk and b.co.uk.
func maybeSameSite(a, b *url.URL) bool {
	if a.Scheme != b.Scheme {
		return false
	}
	ha, hb := strings.ToLower(a.Hostname()), strings.ToLower(b.Hostname())
	if ha == hb {
		return true
	}
	la, lb := strings.Split(ha, "."), strings.Split(hb, ".")
	if net.ParseIP(ha) != nil || net.ParseIP(hb) != nil || len(la) < 2 || len(lb) < 2 {
		return false
	}
	return strings.Join(la[len(la)-2:], ".") == strings.Join(lb[len(lb)-2:], ".")
}

func checkNonEmpty(key string, list []string, ps *problems) {
	for i, s := range list {
		if strings.TrimSpace(s) == "" {
			ps.add(index(key, i), "must not be empty")
		}
	}
}

func checkDomains(key string, list []string, ps *problems) {
	for i, s := range list {
		switch {
		case strings.TrimSpace(s) == "":
			ps.add(index(key, i), "must not be empty")
		case strings.Contains(s, "@"):
			ps.add(index(key, i), "%q: write the domain alone, like \"acme.com\"", s)
		}
	}
}

// checkHTTPURL returns what is wrong with the broker's issuer, an absolute
// http(s) URL extended with paths, or "".
func checkHTTPURL(s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "not a URL"
	case u.Scheme != "http" && u.Scheme != "https":
		return `want an absolute http:// or https:// URL, got ` + strconv.Quote(s)
	case u.Host == "":
		return "URL has no host: " + strconv.Quote(s)
	case u.User != nil:
		return "URL must not contain user:password@"
	case u.RawQuery != "" || u.ForceQuery:
		return "URL must not have a query (?...)"
	case u.Fragment != "" || strings.Contains(s, "#"):
		return "URL must not have a fragment (#...)"
	}
	return ""
}

// checkRedirectURI applies the registration rules for redirect_uris and
// post_logout_redirect_uris. They are later matched as exact strings.
func checkRedirectURI(s string) string {
	if s == "" {
		return "must not be empty"
	}
	if strings.Contains(s, "*") {
		return "wildcards are not supported: register each URI exactly"
	}
	u, err := url.Parse(s)
	if err != nil {
		return "not a URI: " + strconv.Quote(s)
	}
	// RFC 6749 §3.1.2: "The endpoint URI MUST NOT include a fragment component."
	if u.Fragment != "" || strings.Contains(s, "#") {
		return "must not contain a fragment (#...) (RFC 6749 §3.1.2)"
	}
	switch u.Scheme {
	case "":
		return "must be an absolute URI, like \"https://app.example.com/callback\""
	case "https":
		if u.Host == "" {
			return "has no host: " + strconv.Quote(s)
		}
	case "http":
		// RFC 9700 §2.6: no redirect URIs with the http scheme except for
		// native apps using loopback redirection (RFC 8252 §7.3).
		if u.Host == "" {
			return "has no host: " + strconv.Quote(s)
		}
		if !isLoopback(u.Hostname()) {
			return "http is only allowed for localhost, 127.0.0.1 and [::1]: use https (RFC 9700 §2.6)"
		}
	default:
		// RFC 8252 §7.1: private-use schemes for native apps MUST be a
		// reverse domain name the app controls ("com.example.app:/cb").
		// This also rules out javascript:, data: and file:.
		if !strings.Contains(u.Scheme, ".") {
			return "scheme " + strconv.Quote(u.Scheme) + ` is not https, loopback http or a reverse-domain private-use scheme like "com.example.app" (RFC 8252 §7.1)`
		}
	}
	return ""
}

func isLoopback(host string) bool {
	switch strings.ToLower(host) {
	case "localhost", "127.0.0.1", "::1":
		return true
	}
	return false
}

// checkOrigin requires an exact serialised origin (RFC 6454 §6.2), the
// string a browser sends in Origin and CORS compares byte for byte.
func checkOrigin(s string) string {
	switch s {
	case "*":
		return `"*" is not allowed: list each origin`
	case "null":
		// Sandboxed iframes and file: pages all send "null".
		return `"null" is not allowed: it matches any sandboxed or file: page`
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" {
		return "want an origin, like \"https://app.example.com\", got " + strconv.Quote(s)
	}
	if u.User != nil || u.Path != "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(s, "#") {
		return "want an origin (scheme://host[:port]) with no path, query or fragment, got " + strconv.Quote(s)
	}
	canonical := u.Scheme + "://" + strings.ToLower(u.Hostname())
	if strings.Contains(u.Hostname(), ":") {
		canonical = u.Scheme + "://[" + strings.ToLower(u.Hostname()) + "]"
	}
	if p := u.Port(); p != "" && !(u.Scheme == "http" && p == "80") && !(u.Scheme == "https" && p == "443") {
		canonical += ":" + p
	}
	if canonical != s {
		return "browsers send this origin as " + strconv.Quote(canonical) + ": write it that way"
	}
	return ""
}
