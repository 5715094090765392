package accounts_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/socialbroker/broker/internal/config"
	"github.com/socialbroker/broker/internal/server/servertest"
	"github.com/socialbroker/broker/providers/providertest"
)

// TestGitHubOrgRule: a tenant open only to members of the acme organisation.
func TestGitHubOrgRule(t *testing.T) {
	h := servertest.New(t, "")
	b := h.NewBrowser()
	p := servertest.NewPKCE()
	// The broker asks GitHub for read:org only where a rule needs it.
	start := b.UpstreamRedirect(h.AuthorizeURL("/auth/github/login", "orgs", p, nil))
	if !strings.Contains(start.Query().Get("scope"), "read:org") {
		t.Errorf("upstream scope = %q, want read:org", start.Query().Get("scope"))
	}
	if q := h.Login(b, "github", "orgs", servertest.Alice, p); q.Get("code") == "" {
		t.Fatalf("member: redirect %v, want a code", q)
	}
	p = servertest.NewPKCE()
	q := h.Login(h.NewBrowser(), "github", "orgs", servertest.Bob, p)
	if q.Get("error") != "access_denied" || q.Get("code") != "" || q.Get("state") != p.State || q.Get("iss") != h.Issuer {
		t.Fatalf("non-member: redirect %v, want error=access_denied with state and iss", q)
	}
	// A tenant without org rules does not ask for read:org.
	start = h.NewBrowser().UpstreamRedirect(h.AuthorizeURL("/auth/github/login", "spa", servertest.NewPKCE(), nil))
	if strings.Contains(start.Query().Get("scope"), "read:org") {
		t.Errorf("upstream scope for spa = %q, want no read:org", start.Query().Get("scope"))
	}
}

// TestAccountLinking: identities join one user only through an email both
// providers verify; an unverified claim to the same address makes a new user.
func TestAccountLinking(t *testing.T) {
	h := servertest.New(t, "")
	sub := func(tr servertest.TokenResponse) (me servertest.MeResponse) {
		h.GetBearer("/auth/me", tr.AccessToken, &me)
		return me
	}
	viaGoogle := sub(h.SignIn("google", "spa", servertest.Alice))
	viaGitHub := sub(h.SignIn("github", "spa", servertest.Alice))
	if viaGoogle.ID != viaGitHub.ID {
		t.Fatalf("alice via Google %s and via GitHub %s: want one user", viaGoogle.ID, viaGitHub.ID)
	}
	if len(viaGitHub.Identities) != 2 {
		t.Errorf("identities = %+v, want google and github", viaGitHub.Identities)
	}
	again := sub(h.SignIn("google", "spa", servertest.Alice))
	if again.ID != viaGoogle.ID {
		t.Errorf("second Google sign-in: user %s, want %s", again.ID, viaGoogle.ID)
	}
	// eve's provider does not verify alice's address: no takeover.
	viaEve := sub(h.SignIn("corp", "spa", servertest.Eve))
	if viaEve.ID == viaGoogle.ID {
		t.Fatal("an unverified email linked to an existing account")
	}
	// corp is not trusted for email (trust_email defaults to false for
	// generic OIDC), so even a verified address does not link.
	bobGoogle := sub(h.SignIn("google", "spa", servertest.Bob))
	bobCorp := sub(h.SignIn("corp", "spa", servertest.Bob))
	if bobGoogle.ID == bobCorp.ID {
		t.Fatal("an untrusted provider's email linked to an existing account")
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
