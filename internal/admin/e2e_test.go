package admin_test

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/socialbroker/broker/providers/providertest"
	"github.com/socialbroker/broker/storage/postgres/pgtest"
	"github.com/socialbroker/broker/tokens"
)

const appCallback = "http://127.0.0.1:5173/cb"

var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// signIn runs a browser sign-in to a confidential tenant from start (an
// /authorize URL) and redeems the code: it returns the access and refresh
// tokens.
func signIn(t *testing.T, h *harness, start url.Values, tenant, secret string) (string, string) {
	t.Helper()
	b := make([]byte, 32)
	rand.Read(b)
	verifier := base64.RawURLEncoding.EncodeToString(b)
	start.Set("code_challenge", tokens.S256Challenge(verifier))
	start.Set("code_challenge_method", "S256")
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	loc := h.Issuer + "/authorize?" + start.Encode()
	var code string
	for hop := 0; code == "" && hop < 6; hop++ {
		resp, err := browser.Get(loc)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		next, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
		if err != nil || resp.StatusCode != http.StatusFound {
			t.Fatalf("GET %s: %d, want a redirect", loc, resp.StatusCode)
		}
		if loc = next.String(); strings.HasPrefix(loc, appCallback) {
			if code = next.Query().Get("code"); code == "" {
				t.Fatalf("back at the app without a code: %s", loc)
			}
		}
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {appCallback}, "code_verifier": {verifier}}
	req, _ := http.NewRequest("POST", h.Issuer+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(tenant, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tr struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil || resp.StatusCode != 200 {
		t.Fatalf("token: %d %v", resp.StatusCode, err)
	}
	return tr.AccessToken, tr.RefreshToken
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

	app := adm.must(201, "POST", "/tenants", key, map[string]any{"id": "portal", "redirect_uris": []string{appCallback},
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
	start := url.Values{"response_type": {"code"}, "client_id": {"portal"}, "redirect_uri": {appCallback}, "state": {"s"},
		"scope": {"openid email"}, "login_hint": {"uma@acme.example"}}
	// In force: the secret authenticates the app, and login_hint leads
	// straight to the verified domain's connection.
	routed := func() bool {
		resp, err := noRedirects.Get(h.Issuer + "/authorize?" + start.Encode())
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
	access, _ := signIn(t, h, start, "portal", secret)
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
	access, _ = signIn(t, h, start, "portal", secret)
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
