package admin_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/socialbroker/broker/internal/server/servertest"
	"github.com/socialbroker/broker/providers/providertest"
	"github.com/socialbroker/broker/storage/postgres/pgtest"
)

var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// signIn runs a browser sign-in to a confidential tenant by its
// authorization request with extra parameters, and redeems the code with
// an off-the-shelf client (golang.org/x/oauth2, PKCE, client_secret_basic
// as it chooses): it returns the access token.
func signIn(t *testing.T, h *harness, tenant, secret string, extra url.Values) string {
	t.Helper()
	p := servertest.NewPKCE()
	back := h.NewBrowser().Follow(h.AuthorizeURL("/authorize", tenant, p, extra))
	client := oauth2.Config{ClientID: tenant, ClientSecret: secret, RedirectURL: servertest.AppRedirect,
		Endpoint: oauth2.Endpoint{TokenURL: h.Issuer + "/token"}}
	tok, err := client.Exchange(t.Context(), back.Get("code"), oauth2.VerifierOption(p.Verifier))
	if err != nil {
		t.Fatalf("token: %v (authorization answer %v)", err, back)
	}
	return tok.AccessToken
}

// logoutTokens is an app's back-channel logout endpoint: it keeps the
// logout tokens it receives.
type logoutTokens struct {
	mu     sync.Mutex
	tokens []string
}

func (l *logoutTokens) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.mu.Lock()
	l.tokens = append(l.tokens, r.PostFormValue("logout_token"))
	l.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

// sids are the sessions the received logout tokens end.
func (l *logoutTokens) sids(t *testing.T) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, tok := range l.tokens {
		claims := servertest.PayloadOf(t, tok)
		if claims["aud"] != "portal" && !slices.Contains(claims["aud"].([]any), any("portal")) {
			t.Errorf("logout token for %v", claims["aud"])
		}
		out = append(out, claims["sid"].(string))
	}
	return out
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

	bc := &logoutTokens{}
	bcSrv := httptest.NewServer(bc)
	t.Cleanup(bcSrv.Close)
	app := adm.must(201, "POST", "/tenants", key, map[string]any{"id": "portal", "redirect_uris": []string{servertest.AppRedirect},
		"providers": []string{"corp"}, "confidential": true, "backchannel_logout_uri": bcSrv.URL})
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
	// The deleted app is still told that its session ended.
	sid := servertest.PayloadOf(t, access)["sid"].(string)
	if !eventually(10*time.Second, func() bool { return slices.Contains(bc.sids(t), sid) }) {
		t.Errorf("no back-channel logout for the deleted tenant's session %s: got %v", sid, bc.sids(t))
	}
	if sess := adm.must(200, "GET", "/users/"+id+"/sessions", key, nil).items(); len(sess) != 0 {
		t.Errorf("sessions left after the tenant's deletion: %v", sess)
	}
	adm.noSecrets(key, "okta-secret-e2e")
	adm.notLogged(key, secret, access)
}
