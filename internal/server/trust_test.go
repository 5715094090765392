package server_test

import (
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/socialbroker/broker/internal/config"
	"github.com/socialbroker/broker/internal/server/servertest"
	"github.com/socialbroker/broker/providers/providertest"
)

// oauth2-proxy and most gateways gate on a claim of the ID token or of
// /userinfo: roles are there under the roles scope, preferred_username
// under profile (contract, Changes).
func TestRolesScopeInIDTokenAndUserinfo(t *testing.T) {
	h := servertest.New(t, "")
	tr := h.SignInScope("github", "spa", "openid email profile roles", servertest.Alice)
	id := servertest.PayloadOf(t, tr.IDToken)
	if roles, _ := id["roles"].([]any); len(roles) != 2 || roles[0] != "admin" || roles[1] != "viewer" {
		t.Errorf("ID token roles = %v, want [admin viewer]", id["roles"])
	}
	if id["preferred_username"] != "alice" {
		t.Errorf("ID token preferred_username = %v, want alice", id["preferred_username"])
	}
	var info map[string]any
	if status, _ := h.GetBearer("/userinfo", tr.AccessToken, &info); status != http.StatusOK {
		t.Fatalf("userinfo: status %d", status)
	}
	if roles, _ := info["roles"].([]any); len(roles) != 2 || roles[0] != "admin" {
		t.Errorf("userinfo roles = %v, want [admin viewer]", info["roles"])
	}
	if info["preferred_username"] != "alice" {
		t.Errorf("userinfo preferred_username = %v, want alice", info["preferred_username"])
	}

	// Without the roles scope, neither carries roles.
	tr = h.SignInScope("github", "spa", "openid email profile", servertest.Alice)
	if _, ok := servertest.PayloadOf(t, tr.IDToken)["roles"]; ok {
		t.Error("ID token carries roles without the roles scope")
	}
	info = nil
	h.GetBearer("/userinfo", tr.AccessToken, &info)
	if _, ok := info["roles"]; ok {
		t.Error("userinfo carries roles without the roles scope")
	}
	var doc map[string]any
	h.Do(servertest.MustRequest(t, http.MethodGet, h.Issuer+"/.well-known/openid-configuration"), &doc)
	if scopes, _ := doc["scopes_supported"].([]any); !slices.Contains(scopes, any("roles")) {
		t.Errorf("scopes_supported = %v, want roles listed", doc["scopes_supported"])
	}
}

// trustTOML adds a tenant whose access and roles hang on email domains.
const trustTOML = `
[[tenants]]
id = "acme-only"
redirect_uris = ["` + servertest.AppRedirect + `"]
providers = ["google", "github", "corp"]
[tenants.access]
email_domains = ["acme.test"]
[[tenants.roles]]
role = "staff"
email_domains = ["acme.test"]
`

// The nOAuth pattern, end to end: an IdP the broker does not trust for
// email (corp, no trust_email) says alice@acme.test is verified. It must
// not pass an email_domains rule, earn an emails role, link to alice's
// account, nor leave the broker as a verified email.
func TestUntrustedEmailEarnsNothing(t *testing.T) {
	h := servertest.New(t, trustTOML)
	aliceAtGoogle := h.SignIn("google", "spa", servertest.Alice)
	var real servertest.MeResponse
	h.GetBearer("/auth/me", aliceAtGoogle.AccessToken, &real)

	impostor := providertest.User{Subject: "9001", Login: "alice", Name: "Not Alice", Email: "alice@acme.test", EmailVerified: true}
	p := servertest.NewPKCE()
	if q := h.Login(h.NewBrowser(), "corp", "acme-only", impostor, p); q.Get("error") != "access_denied" {
		t.Fatalf("corp identity at an email_domains tenant: redirect %v, want access_denied", q)
	}

	tr := h.SignIn("corp", "spa", impostor)
	var me servertest.MeResponse
	h.GetBearer("/auth/me", tr.AccessToken, &me)
	if me.ID == real.ID {
		t.Fatal("an untrusted provider's verified email linked to alice's account")
	}
	if me.EmailVerified || slices.Contains(me.Roles, "admin") {
		t.Errorf("/auth/me = %+v, want email not verified and no admin role", me)
	}
	id := servertest.PayloadOf(t, tr.IDToken)
	if id["email_verified"] != false {
		t.Errorf("ID token email_verified = %v, want false", id["email_verified"])
	}
	if at := servertest.PayloadOf(t, tr.AccessToken); at["email"] != nil {
		t.Errorf("access token email = %v, want none: the broker does not vouch for it", at["email"])
	}
	var info map[string]any
	h.GetBearer("/userinfo", tr.AccessToken, &info)
	if info["email_verified"] != false {
		t.Errorf("userinfo email_verified = %v, want false", info["email_verified"])
	}
}

// Google is the authority only for @gmail.com and Workspace (hd)
// accounts: a consumer account opened with a company address keeps
// working after its owner leaves the company, so it earns nothing.
func TestGoogleConsumerAccountWithCompanyAddress(t *testing.T) {
	h := servertest.New(t, trustTOML)
	real := h.SignIn("google", "spa", servertest.Alice)
	var alicesMe servertest.MeResponse
	h.GetBearer("/auth/me", real.AccessToken, &alicesMe)

	consumer := providertest.User{Subject: "9002", Name: "Ex Employee", Email: "alice@acme.test", EmailVerified: true}
	if q := h.Login(h.NewBrowser(), "google", "acme-only", consumer, servertest.NewPKCE()); q.Get("error") != "access_denied" {
		t.Fatalf("consumer Google account at an email_domains tenant: %v, want access_denied", q)
	}
	tr := h.SignIn("google", "spa", consumer)
	var me servertest.MeResponse
	h.GetBearer("/auth/me", tr.AccessToken, &me)
	if me.ID == alicesMe.ID || me.EmailVerified || slices.Contains(me.Roles, "admin") {
		t.Errorf("consumer account: %+v; want its own unverified account without admin", me)
	}
	gmail := providertest.User{Subject: "9003", Name: "Carol", Email: "carol@gmail.com", EmailVerified: true}
	tr = h.SignIn("google", "spa", gmail)
	h.GetBearer("/auth/me", tr.AccessToken, &me)
	if !me.EmailVerified {
		t.Errorf("gmail.com account: email not verified, want verified")
	}
}

// Unicode folding never makes one address another: a GitHub-verified
// "alİce@acme.test" (U+0130) is not alice, and x@acme.teſt (U+017F) is
// not in acme.test.
func TestUnicodeLookalikeAddresses(t *testing.T) {
	h := servertest.New(t, trustTOML)
	real := h.SignIn("google", "spa", servertest.Alice)
	var alicesMe servertest.MeResponse
	h.GetBearer("/auth/me", real.AccessToken, &alicesMe)

	dotted := providertest.User{Subject: "9004", Login: "dotted", Email: "al\u0130ce@acme.test", EmailVerified: true}
	tr := h.SignIn("github", "spa", dotted)
	var me servertest.MeResponse
	h.GetBearer("/auth/me", tr.AccessToken, &me)
	if me.ID == alicesMe.ID || slices.Contains(me.Roles, "admin") {
		t.Errorf("al\u0130ce@acme.test reached alice's account or role: %+v", me)
	}
	longS := providertest.User{Subject: "9005", Login: "longs", Email: "x@acme.te\u017ft", EmailVerified: true}
	if q := h.Login(h.NewBrowser(), "github", "acme-only", longS, servertest.NewPKCE()); q.Get("error") != "access_denied" {
		t.Errorf("x@acme.te\u017ft at an acme.test tenant: %v, want access_denied", q)
	}
}

// Access rules fail closed: a tenant that names github_orgs refuses a
// Google identity, which can belong to no GitHub organisation.
func TestOrgRuleRefusesOtherProviders(t *testing.T) {
	h := servertest.New(t, `
[[tenants]]
id = "orgs-any"
redirect_uris = ["`+servertest.AppRedirect+`"]
providers = ["google", "github"]
[tenants.access]
github_orgs = ["acme"]
`)
	if q := h.Login(h.NewBrowser(), "google", "orgs-any", servertest.Alice, servertest.NewPKCE()); q.Get("error") != "access_denied" {
		t.Fatalf("Google identity at a github_orgs tenant: %v, want access_denied", q)
	}
	if q := h.Login(h.NewBrowser(), "github", "orgs-any", servertest.Alice, servertest.NewPKCE()); q.Get("code") == "" {
		t.Fatalf("GitHub member at a github_orgs tenant: %v, want a code", q)
	}
}

// withTenant returns a copy of cfg whose tenant id is changed by edit.
func withTenant(cfg *config.Config, id string, edit func(*config.Tenant)) *config.Config {
	c := *cfg
	c.Tenants = slices.Clone(cfg.Tenants)
	for i := range c.Tenants {
		if c.Tenants[i].ID == id {
			edit(&c.Tenants[i])
		}
	}
	return &c
}

// Roles and access rules are applied again at every refresh, against the
// tenant's rules as they are then: a replica started with changed rules
// stands for a config change.
func TestRulesReappliedAtRefresh(t *testing.T) {
	h := servertest.New(t, "")
	tr := h.SignIn("google", "spa", servertest.Alice)
	if roles := servertest.PayloadOf(t, tr.AccessToken)["roles"].([]any); len(roles) != 2 {
		t.Fatalf("roles at sign-in = %v, want admin and viewer", roles)
	}
	primary := h.Issuer

	// The admin role is removed from the configuration.
	noAdmin := withTenant(h.Cfg, "spa", func(t *config.Tenant) {
		t.Roles = slices.DeleteFunc(slices.Clone(t.Roles), func(r config.Role) bool { return r.Role == "admin" })
	})
	h.Issuer = h.StartReplica(noAdmin)
	next, status := h.RefreshGrant("spa", tr.RefreshToken)
	if status != http.StatusOK {
		t.Fatalf("refresh: status %d %+v", status, next)
	}
	if roles := servertest.PayloadOf(t, next.AccessToken)["roles"].([]any); len(roles) != 1 || roles[0] != "viewer" {
		t.Errorf("roles after the admin role was removed = %v, want [viewer]", roles)
	}

	// Then the tenant's access rules drop alice's domain.
	otherDomain := withTenant(noAdmin, "spa", func(t *config.Tenant) { t.Access.EmailDomains = []string{"other.test"} })
	h.Issuer = h.StartReplica(otherDomain)
	refused, status := h.RefreshGrant("spa", next.RefreshToken)
	if status != http.StatusBadRequest || refused.Error != "invalid_grant" {
		t.Fatalf("refresh after access was withdrawn: status %d %+v, want 400 invalid_grant", status, refused)
	}
	// The session ended: not even the original configuration revives it.
	h.Issuer = primary
	if _, status := h.RefreshGrant("spa", next.RefreshToken); status != http.StatusBadRequest {
		t.Errorf("refresh on the first replica after the session ended: status %d, want 400", status)
	}
}

// RFC 9207 §2.4: an upstream whose discovery promises iss in its
// authorization responses (corp's does) is believed only with it. A
// response without iss may come from another issuer the browser was sent
// to (a mix-up, RFC 9700 §4.4): refused before the code is exchanged.
func TestCallbackWithoutPromisedIss(t *testing.T) {
	h := servertest.New(t, "")
	for _, strip := range []bool{false, true} {
		b := h.NewBrowser()
		p := servertest.NewPKCE()
		h.SetNextUser("corp", servertest.Bob)
		up := b.UpstreamRedirect(h.AuthorizeURL("/auth/corp/login", "spa", p, nil))
		resp := b.Get(up.String())
		resp.Body.Close()
		back, err := url.Parse(resp.Header.Get("Location"))
		if err != nil || back.Query().Get("iss") != h.Corp.URL() {
			t.Fatalf("upstream answer %v: want a redirect carrying iss %s", back, h.Corp.URL())
		}
		if strip {
			q := back.Query()
			q.Del("iss")
			back.RawQuery = q.Encode()
		}
		q := b.Follow(back.String())
		switch {
		case !strip && q.Get("code") == "":
			t.Errorf("with iss: %v, want a code", q)
		case strip && (q.Get("error") != "access_denied" || q.Get("code") != ""):
			t.Errorf("without the promised iss: %v, want access_denied", q)
		}
	}
}

// The app endpoints that answer about one app's user require the calling
// app to be named (contract, Changes): a backend that forgot X-Tenant-ID
// would otherwise admit any app's token, users its own rules refuse
// included.
func TestAppEndpointsRequireTheApp(t *testing.T) {
	h := servertest.New(t, `
[[tenants]]
id = "twin-a"
redirect_uris = ["`+servertest.AppRedirect+`"]
allowed_origins = ["https://twins.example"]
providers = ["github"]
[[tenants]]
id = "twin-b"
redirect_uris = ["`+servertest.AppRedirect+`"]
allowed_origins = ["https://twins.example"]
providers = ["github"]
`)
	spa := h.SignIn("github", "spa", servertest.Alice)
	twin := h.SignIn("github", "twin-a", servertest.Alice)
	call := func(path, tok string, hdr map[string]string) (int, map[string]any) {
		req := servertest.MustRequest(t, http.MethodGet, h.Issuer+path)
		req.Header.Set("Authorization", "Bearer "+tok)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		var body map[string]any
		return h.Do(req, &body), body
	}
	for _, path := range []string{"/auth/check", "/auth/me", "/auth/permissions"} {
		tests := []struct {
			name   string
			tok    string
			hdr    map[string]string
			status int
			error  string
		}{
			{"no app named", spa.AccessToken, nil, http.StatusBadRequest, "invalid_request"},
			{"origin of two apps", twin.AccessToken, map[string]string{"Origin": "https://twins.example"}, http.StatusBadRequest, "invalid_request"},
			{"another app's token", spa.AccessToken, map[string]string{"X-Tenant-ID": "orgs"}, http.StatusUnauthorized, "invalid_token"},
			{"the app by X-Tenant-ID", spa.AccessToken, map[string]string{"X-Tenant-ID": "spa"}, http.StatusOK, ""},
			{"the app by its one origin", spa.AccessToken, map[string]string{"Origin": "http://127.0.0.1:5173"}, http.StatusOK, ""},
			{"origin of two apps, named", twin.AccessToken, map[string]string{"Origin": "https://twins.example", "X-Tenant-ID": "twin-a"}, http.StatusOK, ""},
		}
		for _, tt := range tests {
			status, body := call(path, tt.tok, tt.hdr)
			if status != tt.status || (tt.error != "" && body["error"] != tt.error) {
				t.Errorf("%s, %s: status %d %v, want %d %s", path, tt.name, status, body, tt.status, tt.error)
			}
		}
	}
}
