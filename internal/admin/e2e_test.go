package admin_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/socialbroker/broker/internal/server/servertest"
	"github.com/socialbroker/broker/providers/providertest"
	"github.com/socialbroker/broker/storage/postgres/pgtest"
)

var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// signIn runs a browser sign-in to a confidential tenant by its
// authorization request with extra parameters, and redeems the code: it
// returns the access token.
func signIn(t *testing.T, h *harness, tenant, secret string, extra url.Values) string {
	t.Helper()
	p := servertest.NewPKCE()
	back := h.NewBrowser().Follow(h.AuthorizeURL("/authorize", tenant, p, extra))
	basic := &http.Request{Header: http.Header{}}
	basic.SetBasicAuth(tenant, secret)
	var tr servertest.TokenResponse
	status := h.PostForm("/token", url.Values{"grant_type": {"authorization_code"}, "code": {back.Get("code")},
		"redirect_uri": {servertest.AppRedirect}, "code_verifier": {p.Verifier}}, basic.Header, &tr)
	if status != 200 {
		t.Fatalf("token: %d %s %s", status, tr.Error, tr.ErrorDescription)
	}
	return tr.AccessToken
}

// check calls /auth/check as tenant's backend would.
func check(t *testing.T, h *harness, tenant, token string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", h.Issuer+"/auth/check", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("X-Tenant-ID", tenant)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// eventually polls cond every 20 ms for up to d; with d zero it asks once:
// a change must then be in force at once.
func eventually(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestOnboardingEndToEnd: with only an admin key, onboard a customer (a
// confidential app, its own OpenID Connect provider, its verified email
// domain), sign a user in through it by login_hint, then disable the user
// and delete the app: each takes effect at once on the replica that made
// the change, and within a second on another.
func TestOnboardingEndToEnd(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		h := newHarness(t, privateNets)
		onboarding(t, h, h, 0)
	})
	t.Run("postgres", func(t *testing.T) {
		h := startHarness(t, pgtest.DSN(t), "", privateNets)
		onboarding(t, h, h, 0)
	})
	t.Run("two replicas on postgres", func(t *testing.T) {
		h := startHarness(t, pgtest.DSN(t), "", privateNets)
		onboarding(t, h, h.replica(), time.Second)
	})
}

// onboarding makes its changes through adm and signs in and checks
// tokens through h, where they must be in force within lag.
func onboarding(t *testing.T, h, adm *harness, lag time.Duration) {
	key := adm.key("", "admin")
	okta := providertest.NewOIDC(providertest.OIDCOptions{Title: "Okta", ClientID: "okta-client", ClientSecret: "okta-secret-e2e"})
	t.Cleanup(okta.Close)

	app := adm.must(201, "POST", "/tenants", key, map[string]any{"id": "portal", "redirect_uris": []string{servertest.AppRedirect},
		"providers": []string{"corp"}, "confidential": true})
	secret := app.str("client_secret")
	adm.must(201, "POST", "/connections", key, map[string]any{"id": "okta", "type": "oidc", "issuer": okta.URL(),
		"client_id": "okta-client", "client_secret": "okta-secret-e2e", "tenant": "portal"})
	adm.must(200, "PATCH", "/tenants/portal", key, map[string]any{"providers": []string{"corp", "okta"}})
	dom := adm.must(201, "POST", "/connections/okta/domains", key, map[string]any{"domain": "acme.example"})
	h.dns.AddTXT(dom.str("txt_name"), dom.str("txt_value"))
	if r := adm.must(200, "POST", "/connections/okta/domains/acme.example/verify", key, nil); r.body["verified"] != true {
		t.Fatalf("verify: %s", r.raw)
	}
	hint := url.Values{"login_hint": {"uma@acme.example"}}
	// In force: the secret authenticates the app, and login_hint leads
	// straight to the verified domain's connection.
	routed := func() bool {
		resp, err := noRedirects.Get(h.AuthorizeURL("/authorize", "portal", servertest.NewPKCE(), hint))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return strings.HasPrefix(resp.Header.Get("Location"), okta.URL()) && introspect(t, h, "portal", secret) == 200
	}
	if !eventually(lag, routed) {
		t.Fatalf("the new tenant, connection and domain are not in force within %s", lag)
	}

	okta.SetNextUser(providertest.User{Subject: "o-1", Name: "Uma", Email: "uma@acme.example", EmailVerified: true})
	access := signIn(t, h, "portal", secret, hint)
	if s := check(t, h, "portal", access); s != 200 {
		t.Fatalf("/auth/check after the sign-in: %d", s)
	}

	users := adm.must(200, "GET", "/users?email=uma@acme.example&tenant=portal", key, nil).items()
	if len(users) != 1 {
		t.Fatalf("users = %v", users)
	}
	id := users[0]["id"].(string)
	adm.must(200, "PATCH", "/users/"+id, key, map[string]any{"disabled": true})
	if !eventually(lag, func() bool { return check(t, h, "portal", access) == 401 }) {
		t.Errorf("/auth/check still 200 %s after the user was disabled", lag)
	}
	adm.must(200, "PATCH", "/users/"+id, key, map[string]any{"disabled": false})

	okta.SetNextUser(providertest.User{Subject: "o-1", Name: "Uma", Email: "uma@acme.example", EmailVerified: true})
	access = signIn(t, h, "portal", secret, hint)
	if s := check(t, h, "portal", access); s != 200 {
		t.Fatalf("/auth/check after signing in again: %d", s)
	}
	adm.must(204, "DELETE", "/tenants/portal", key, nil)
	if !eventually(lag, func() bool { return check(t, h, "portal", access) == 401 }) {
		t.Errorf("/auth/check still 200 %s after the tenant was deleted", lag)
	}
	if sess := adm.must(200, "GET", "/users/"+id+"/sessions", key, nil).items(); len(sess) != 0 {
		t.Errorf("sessions left after the tenant's deletion: %v", sess)
	}
	adm.noSecrets(key, "okta-secret-e2e")
	adm.notLogged(key, secret, access)
}
