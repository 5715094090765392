package server_test

import (
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/socialbroker/broker/internal/config"
	"github.com/socialbroker/broker/internal/server/servertest"
)

// claimsTOML is a tenant with custom claims: one per destination, one for
// all three, one that reads the sign-in's facts, one that fails at
// evaluation and one that exceeds the cost limit.
const claimsTOML = `
[[tenants]]
id = "claims"
name = "Claims App"
redirect_uris = ["` + servertest.AppRedirect + `"]
providers = ["github", "google"]
[[tenants.roles]]
role = "admin"
emails = ["alice@acme.test"]
[[tenants.claims]]
name = "org"
expr = "tenant.id + ':' + user.id"
[[tenants.claims]]
name = "upstream"
expr = "identity.provider + '/' + identity.subject + '/' + identity.username"
in = ["access_token"]
[[tenants.claims]]
name = "is_admin"
expr = "'admin' in roles"
in = ["id_token"]
[[tenants.claims]]
name = "contact"
expr = "{'email': identity.email, 'verified': user.email_verified}"
in = ["userinfo"]
[[tenants.claims]]
name = "broken"
expr = "roles[7]"
[[tenants.claims]]
name = "burn"
expr = "[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30].all(a, [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30].all(b, [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30].all(c, a != 0)))"
`

// userinfo fetches /userinfo with token.
func userinfo(t *testing.T, h *servertest.Harness, token string) map[string]any {
	t.Helper()
	var out map[string]any
	if status, _ := h.GetBearer("/userinfo", token, &out); status != http.StatusOK {
		t.Fatalf("/userinfo: status %d", status)
	}
	return out
}

func TestCustomClaimsInEachDestination(t *testing.T) {
	h := servertest.New(t, claimsTOML)
	tr := h.SignInScope("github", "claims", "openid email profile", servertest.Alice)
	at := servertest.PayloadOf(t, tr.AccessToken)
	id := servertest.PayloadOf(t, tr.IDToken)
	ui := userinfo(t, h, tr.AccessToken)
	sub, _ := at["sub"].(string)

	wantOrg := "claims:" + sub
	for name, got := range map[string]any{"access token": at["org"], "ID token": id["org"], "userinfo": ui["org"]} {
		if got != wantOrg {
			t.Errorf("%s: org = %v, want %q", name, got, wantOrg)
		}
	}
	if at["upstream"] != "github/1001/alice" || id["upstream"] != nil || ui["upstream"] != nil {
		t.Errorf("upstream: access %v, id %v, userinfo %v; want it in the access token only", at["upstream"], id["upstream"], ui["upstream"])
	}
	if id["is_admin"] != true || at["is_admin"] != nil || ui["is_admin"] != nil {
		t.Errorf("is_admin: access %v, id %v, userinfo %v; want true in the ID token only", at["is_admin"], id["is_admin"], ui["is_admin"])
	}
	contact, _ := ui["contact"].(map[string]any)
	if contact["email"] != "alice@acme.test" || contact["verified"] != true || at["contact"] != nil || id["contact"] != nil {
		t.Errorf("contact: userinfo %v, access %v, id %v; want it in userinfo only", ui["contact"], at["contact"], id["contact"])
	}
	// The standard claims are untouched.
	if at["tid"] != "claims" || id["email"] != "alice@acme.test" || ui["sub"] != sub {
		t.Errorf("standard claims: tid %v, id email %v, userinfo sub %v", at["tid"], id["email"], ui["sub"])
	}

	// A runtime failure and a cost overrun leave their claim out, are
	// logged by name, and never fail the sign-in.
	for _, name := range []string{"broken", "burn"} {
		if at[name] != nil || id[name] != nil || ui[name] != nil {
			t.Errorf("%s: present, want it left out", name)
		}
		if !strings.Contains(h.Logs.String(), `"claim":"`+name+`"`) {
			t.Errorf("no log line names claim %s:\n%s", name, h.Logs.String())
		}
	}
	if !strings.Contains(h.Logs.String(), "cost limit") {
		t.Errorf("the cost overrun is not logged as one:\n%s", h.Logs.String())
	}

	// At refresh, the claims are evaluated again from the session's facts:
	// the identity's subject and username survive.
	next, status := h.RefreshGrant("claims", tr.RefreshToken)
	if status != http.StatusOK {
		t.Fatalf("refresh: %d %+v", status, next)
	}
	at2 := servertest.PayloadOf(t, next.AccessToken)
	if at2["upstream"] != "github/1001/alice" || at2["org"] != wantOrg || at2["jti"] == at["jti"] {
		t.Errorf("refreshed access token: upstream %v, org %v", at2["upstream"], at2["org"])
	}
	// Another replica, which did not issue the token, evaluates the
	// userinfo claims itself.
	other := h.Via(h.AddReplica())
	if ui2 := userinfo(t, other, next.AccessToken); ui2["org"] != wantOrg || ui2["contact"] == nil {
		t.Errorf("userinfo from another replica: %v", ui2)
	}
}

// A tenant without claims gets tokens without any: nothing leaks from a
// tenant that has some.
func TestNoCustomClaimsElsewhere(t *testing.T) {
	h := servertest.New(t, claimsTOML)
	tr := h.SignInScope("github", "spa", "openid email profile", servertest.Alice)
	for _, m := range []map[string]any{servertest.PayloadOf(t, tr.AccessToken), servertest.PayloadOf(t, tr.IDToken), userinfo(t, h, tr.AccessToken)} {
		if m["org"] != nil || m["upstream"] != nil {
			t.Errorf("claims of tenant claims in spa's: %v", m)
		}
	}
}

// teamsTOML gates a tenant on GitHub teams (org/team) and organisations
// as groups, beside a github_orgs role.
const teamsTOML = `
[[tenants]]
id = "teams"
redirect_uris = ["` + servertest.AppRedirect + `"]
providers = ["github"]
[tenants.access]
groups = ["ACME/admins", "acme/devs"]
[[tenants.roles]]
role = "admin"
groups = ["acme/admins"]
[[tenants.roles]]
role = "member"
groups = ["acme"]
[[tenants.roles]]
role = "legacy"
github_orgs = ["Acme"]
[[tenants.claims]]
name = "teams"
expr = "identity.groups.filter(g, g.contains('/'))"
[[tenants]]
id = "teamroles"
redirect_uris = ["` + servertest.AppRedirect + `"]
providers = ["github"]
[tenants.access]
github_orgs = ["acme"]
[[tenants.roles]]
role = "admin"
groups = ["acme/admins"]
`

func roles(t *testing.T, token string) []string {
	t.Helper()
	var out []string
	for _, r := range servertest.PayloadOf(t, token)["roles"].([]any) {
		out = append(out, r.(string))
	}
	return out
}

func TestGitHubTeamsAndOrgsAsGroups(t *testing.T) {
	h := servertest.New(t, teamsTOML)
	admin := servertest.Alice
	admin.Teams = []string{"acme/admins", "golang/tools"}
	tr := h.SignIn("github", "teams", admin)
	if got := roles(t, tr.AccessToken); !slices.Equal(got, []string{"admin", "member", "legacy"}) {
		t.Errorf("roles %v, want admin (a team), member (an org as a group), legacy (github_orgs)", got)
	}
	if got := servertest.PayloadOf(t, tr.AccessToken)["teams"]; len(got.([]any)) != 2 {
		t.Errorf("teams claim %v, want both teams", got)
	}
	// Roles are judged again at refresh from the facts: teams included.
	next, status := h.RefreshGrant("teams", tr.RefreshToken)
	if status != http.StatusOK || !slices.Equal(roles(t, next.AccessToken), []string{"admin", "member", "legacy"}) {
		t.Errorf("refresh: %d, roles %v", status, roles(t, next.AccessToken))
	}

	// In acme but in neither team: refused.
	q := h.Login(h.NewBrowser(), "github", "teams", servertest.Alice, servertest.NewPKCE())
	if q.Get("error") != "access_denied" {
		t.Errorf("not in a team: %v, want access_denied", q)
	}
	dev := servertest.Bob
	dev.Orgs, dev.Teams = []string{"acme"}, []string{"acme/devs"}
	if got := roles(t, h.SignIn("github", "teams", dev).AccessToken); !slices.Equal(got, []string{"member", "legacy"}) {
		t.Errorf("dev roles %v, want member, legacy", got)
	}
}

// A broker session whose sign-in read organisations but not teams cannot
// answer an app whose rules name a team: the person goes upstream again.
func TestSSONeedsTeamsReadAgain(t *testing.T) {
	h := servertest.New(t, teamsTOML)
	admin := servertest.Alice
	admin.Teams = []string{"acme/admins"}
	b := h.NewBrowser()
	if q := h.Login(b, "github", "orgs", admin, servertest.NewPKCE()); q.Get("code") == "" {
		t.Fatalf("orgs sign-in: %v", q)
	}
	q := b.Follow(h.AuthorizeURL("/authorize", "teamroles", servertest.NewPKCE(), url.Values{"prompt": {"none"}}))
	if q.Get("error") != "interaction_required" {
		t.Errorf("prompt=none for an app naming teams: %v, want interaction_required", q)
	}
	// Signed in through it, the teams are read and the role is granted.
	if got := roles(t, h.SignIn("github", "teamroles", admin).AccessToken); !slices.Equal(got, []string{"admin"}) {
		t.Errorf("teamroles roles %v, want admin", got)
	}
}

// A generic OIDC provider's groups claim feeds access and role rules.
func TestOIDCGroupsInRules(t *testing.T) {
	h := servertest.New(t, `
[[tenants]]
id = "eng"
redirect_uris = ["`+servertest.AppRedirect+`"]
providers = ["corp"]
[tenants.access]
groups = ["eng", "ops"]
[[tenants.roles]]
role = "oncall"
groups = ["ops"]
[[tenants.roles]]
role = "staff"
everyone = true
[[tenants.claims]]
name = "groups"
expr = "identity.groups"
in = ["access_token"]
`)
	v := h.Variant(func(c *config.Config) {
		p := c.Providers["corp"]
		p.Scopes = []string{"openid", "email", "profile", "groups"}
		c.Providers = mapsWith(c.Providers, "corp", p)
	})
	ops := servertest.Bob
	ops.Groups = []string{"ops"}
	tr := v.SignIn("corp", "eng", ops)
	if got := roles(t, tr.AccessToken); !slices.Equal(got, []string{"oncall", "staff"}) {
		t.Errorf("roles %v, want oncall, staff", got)
	}
	if got, _ := json.Marshal(servertest.PayloadOf(t, tr.AccessToken)["groups"]); string(got) != `["ops"]` {
		t.Errorf("groups claim %s, want [\"ops\"]", got)
	}
	outsider := servertest.Bob
	outsider.Subject, outsider.Groups = "2002", []string{"sales"}
	if q := v.Login(v.NewBrowser(), "corp", "eng", outsider, servertest.NewPKCE()); q.Get("error") != "access_denied" {
		t.Errorf("outside the groups: %v, want access_denied", q)
	}
}

func mapsWith(m map[string]config.Provider, k string, v config.Provider) map[string]config.Provider {
	out := maps.Clone(m)
	out[k] = v
	return out
}
