package admin_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/socialbroker/broker/internal/admin"
	"github.com/socialbroker/broker/internal/config"
	"github.com/socialbroker/broker/internal/server/servertest"
	"github.com/socialbroker/broker/providers/providertest"
)

// consoleSignIn signs user in to the admin console as its page does:
// authorization code with PKCE for the tenant broker-console, redeemed in
// cookie mode; it returns the access token.
func consoleSignIn(h *harness, user providertest.User) string {
	h.t.Helper()
	h.corp.SetNextUser(user)
	b := h.NewBrowser()
	p := servertest.NewPKCE()
	redirect := h.Issuer + admin.ConsoleCallbackPath
	u := h.Issuer + "/auth/corp/login?" + url.Values{
		"response_type": {"code"}, "client_id": {config.ConsoleTenantID}, "redirect_uri": {redirect},
		"state": {p.State}, "scope": {"openid email profile"}, "code_challenge": {p.Challenge}, "code_challenge_method": {"S256"},
	}.Encode()
	var code string
	for range 10 {
		resp := b.Get(u)
		resp.Body.Close()
		loc, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
		if err != nil || resp.StatusCode/100 != 3 {
			h.t.Fatalf("GET %s: %d, want a redirect", u, resp.StatusCode)
		}
		if strings.HasPrefix(loc.String(), redirect+"?") {
			code = loc.Query().Get("code")
			break
		}
		u = loc.String()
	}
	if code == "" {
		h.t.Fatal("the console's sign-in did not come back with a code")
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect},
		"client_id": {config.ConsoleTenantID}, "code_verifier": {p.Verifier}}
	req, _ := http.NewRequest("POST", h.Issuer+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", h.Issuer)
	req.Header.Set("X-Broker-CSRF", "1")
	resp, err := b.Client.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != 200 || tok.AccessToken == "" {
		h.t.Fatalf("console token: %d %v", resp.StatusCode, err)
	}
	if tok.RefreshToken != "" {
		h.t.Error("the console's page received a refresh token: broker-console must be in cookie mode")
	}
	return tok.AccessToken
}

// TestConsoleOperators: the admin API admits the console's access tokens
// when they carry admin.console_role, with the admin scope's rights and
// the operator named in the audit log; a token without the role is
// refused 403 not_console_admin, another app's token 401. The role is
// granted by [admin] console_admins and through the API.
func TestConsoleOperators(t *testing.T) {
	h := newHarness(t, privateNets+"\nconsole_admins = [\"ops@corp.test\"]\nconsole_role = \"ops\"")
	key := h.key("", "admin")

	// The built-in tenant: the console's redirect URI, every provider,
	// the role for console_admins, cookie mode; it cannot be deleted.
	ct := h.must(200, "GET", "/tenants/broker-console", key, nil)
	if got := ct.body["redirect_uris"].([]any); len(got) != 1 || got[0] != h.Issuer+"/admin/callback" {
		t.Errorf("redirect_uris = %v", got)
	}
	if ct.str("refresh_token_delivery") != "cookie" || !strings.Contains(ct.raw, `"emails":["ops@corp.test"]`) || !strings.Contains(ct.raw, `"role":"ops"`) {
		t.Errorf("broker-console = %s", ct.raw)
	}
	if r := h.do("DELETE", "/tenants/broker-console", key, nil); r.status != 409 {
		t.Errorf("DELETE broker-console: %d, want 409", r.status)
	}

	// Corp does not vouch for emails here (trust_email unset), so no
	// email rule matches: the operator-to-be holds no role yet.
	ops := providertest.User{Subject: "7", Name: "Ops", Email: "ops@corp.test", EmailVerified: true}
	tok := consoleSignIn(h, ops)
	r := h.do("GET", "/tenants", tok, nil)
	if r.status != 403 || r.str("error") != "not_console_admin" {
		t.Fatalf("token without the role: %d %s, want 403 not_console_admin", r.status, r.raw)
	}

	// The API grants the role to everyone signing in through corp.
	h.must(200, "PATCH", "/tenants/broker-console", key, map[string]any{
		"roles": []any{map[string]any{"role": "ops", "everyone": true}}})
	tok = consoleSignIn(h, ops)
	claims := servertest.PayloadOf(t, tok)
	if roles, _ := claims["roles"].([]any); !slices.Contains(roles, any("ops")) {
		t.Fatalf("console token roles = %v, want ops", claims["roles"])
	}
	h.must(200, "GET", "/tenants", tok, nil)
	h.must(201, "POST", "/tenants", tok, map[string]any{"id": "by-console", "redirect_uris": []string{"https://app.example/cb"}, "providers": []string{"corp"}})
	// Keys: only for an unrestricted admin, and shown once.
	made := h.must(201, "POST", "/keys", tok, map[string]any{"name": "ci", "scopes": []string{"audit:read"}})
	newKey := made.str("key")
	if !strings.HasPrefix(newKey, "bk_") {
		t.Fatalf("POST /keys: %s", made.raw)
	}
	h.must(200, "GET", "/audit", newKey, nil)
	if r := h.do("GET", "/keys", newKey, nil); r.status != 403 {
		t.Errorf("GET /keys with audit:read: %d, want 403", r.status)
	}
	if r := h.do("GET", "/keys", h.key("by-console", "admin"), nil); r.status != 403 {
		t.Errorf("GET /keys with a restricted admin key: %d, want 403", r.status)
	}
	keys := h.must(200, "GET", "/keys", tok, nil)
	if strings.Contains(keys.raw, newKey) || strings.Contains(keys.raw, strings.Split(newKey, "_")[2]) || !strings.Contains(keys.raw, made.str("id")) {
		t.Errorf("GET /keys shows a secret or misses the key: %s", keys.raw)
	}
	h.must(204, "DELETE", "/keys/"+made.str("id"), tok, nil)
	if r := h.do("GET", "/audit", newKey, nil); r.status != 401 {
		t.Errorf("revoked key: %d, want 401", r.status)
	}
	if r := h.do("POST", "/keys", tok, map[string]any{"name": "x", "scopes": []string{"root"}}); r.status != 422 || !slices.Contains(r.problemFields(), "scopes") {
		t.Errorf("POST /keys with an unknown scope: %d %s, want 422 at scopes", r.status, r.raw)
	}
	h.must(404, "DELETE", "/keys/nosuchkey", tok, nil)

	// The operator is the actor of their changes.
	actor := "user:" + claims["sub"].(string)
	if e, ok := claims["email"].(string); ok {
		actor = e
	}
	audit := h.must(200, "GET", "/audit?tenant=by-console", key, nil).items()
	if len(audit) == 0 || audit[len(audit)-1]["type"] != "tenant.created" || audit[len(audit)-1]["actor"] != actor {
		t.Errorf("audit of by-console = %v, want tenant.created by %s", audit, actor)
	}

	// Another app's token is no credential of the API.
	h.Harness.Corp = h.corp // cfg-app signs in through corp, at servertest.AppRedirect
	other := h.SignIn("corp", "cfg-app", ops).AccessToken
	if r := h.do("GET", "/tenants", other, nil); r.status != 401 {
		t.Errorf("cfg-app's token: %d %s, want 401", r.status, r.raw)
	}
	if r := h.do("GET", "/tenants", "not-a-jwt", nil); r.status != 401 {
		t.Errorf("garbage token: %d, want 401", r.status)
	}
}
