package server_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/socialbroker/broker/internal/server/servertest"
)

func TestDiscovery(t *testing.T) {
	h := servertest.New(t, "")
	for _, path := range []string{"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"} {
		var doc map[string]any
		if status := h.Do(servertest.MustRequest(t, http.MethodGet, h.Issuer+path), &doc); status != http.StatusOK {
			t.Fatalf("%s: status %d", path, status)
		}
		if doc["issuer"] != h.Issuer || doc["token_endpoint"] != h.Issuer+"/token" || doc["jwks_uri"] != h.Issuer+"/.well-known/jwks.json" {
			t.Errorf("%s: %v", path, doc)
		}
		if m, _ := doc["code_challenge_methods_supported"].([]any); len(m) != 1 || m[0] != "S256" {
			t.Errorf("%s: code_challenge_methods_supported = %v, want [S256]", path, m)
		}
		if doc["authorization_response_iss_parameter_supported"] != true {
			t.Errorf("%s: RFC 9207 support not advertised", path)
		}
	}
}

func TestRevokeAndIntrospect(t *testing.T) {
	h := servertest.New(t, "")
	basic := http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte("server:"+servertest.ConfidentialSecret))}}
	introspect := func(tok string, hdr http.Header) (map[string]any, int) {
		var out map[string]any
		status := h.PostForm("/introspect", url.Values{"token": {tok}}, hdr, &out)
		return out, status
	}
	spa := h.SignIn("google", "spa", servertest.Alice)

	t.Run("introspection needs a confidential client", func(t *testing.T) {
		var out map[string]any
		if status := h.PostForm("/introspect", url.Values{"token": {spa.AccessToken}, "client_id": {"spa"}}, nil, &out); status != http.StatusBadRequest || out["error"] != "unauthorized_client" {
			t.Errorf("public client: %d %v", status, out)
		}
		if _, status := introspect(spa.AccessToken, http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte("server:wrong"))}}); status != http.StatusUnauthorized {
			t.Errorf("wrong secret: %d, want 401", status)
		}
	})
	t.Run("another tenant's token is inactive", func(t *testing.T) {
		if out, status := introspect(spa.AccessToken, basic); status != http.StatusOK || out["active"] != false {
			t.Errorf("%d %v, want active=false", status, out)
		}
	})
	t.Run("revoke ends the session", func(t *testing.T) {
		var none map[string]any
		if status := h.PostForm("/revoke", url.Values{"token": {spa.RefreshToken}, "client_id": {"spa"}}, nil, &none); status != http.StatusOK {
			t.Fatalf("revoke: %d", status)
		}
		if status, _ := h.GetBearer("/auth/check", spa.AccessToken, nil); status != http.StatusUnauthorized {
			t.Errorf("check after revoke: %d, want 401", status)
		}
		if status := h.PostForm("/revoke", url.Values{"token": {"unknown"}, "client_id": {"spa"}}, nil, &none); status != http.StatusOK {
			t.Errorf("revoke of an unknown token: %d, want 200 (RFC 7009 §2.2)", status)
		}
	})
}

func TestIntrospectActive(t *testing.T) {
	h := servertest.New(t, "")
	p := servertest.NewPKCE()
	q := h.Login(h.NewBrowser(), "google", "server", servertest.Alice, p)
	var tr servertest.TokenResponse
	basic := http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte("server:"+servertest.ConfidentialSecret))}}
	if status := h.PostForm("/token", url.Values{"grant_type": {"authorization_code"}, "code": {q.Get("code")}, "redirect_uri": {servertest.AppRedirect}, "code_verifier": {p.Verifier}}, basic, &tr); status != http.StatusOK {
		t.Fatalf("token: %d %+v", status, tr)
	}
	var out map[string]any
	if status := h.PostForm("/introspect", url.Values{"token": {tr.AccessToken}}, basic, &out); status != http.StatusOK || out["active"] != true || out["client_id"] != "server" || out["sub"] == "" {
		t.Fatalf("introspect: %d %v", status, out)
	}
	// A confidential tenant may not refresh through the unauthenticated app endpoint.
	var fail map[string]any
	if status := h.PostJSON("/auth/refresh", map[string]string{"refreshToken": tr.RefreshToken}, nil, &fail); status != http.StatusUnauthorized || fail["error"] != "invalid_grant" {
		t.Errorf("/auth/refresh for a confidential tenant: %d %v", status, fail)
	}
}

func TestEndSession(t *testing.T) {
	h := servertest.New(t, "")
	tr := h.SignIn("google", "spa", servertest.Alice)
	b := h.NewBrowser()

	evil := b.Get(h.Issuer + "/logout?" + url.Values{"id_token_hint": {tr.IDToken}, "post_logout_redirect_uri": {"https://evil.test/"}}.Encode())
	servertest.PageRefusal(t, evil, http.StatusBadRequest)
	noHint := b.Get(h.Issuer + "/logout?" + url.Values{"post_logout_redirect_uri": {"http://127.0.0.1:5173/"}}.Encode())
	servertest.PageRefusal(t, noHint, http.StatusBadRequest)

	resp := b.Get(h.Issuer + "/logout?" + url.Values{"id_token_hint": {tr.IDToken}, "post_logout_redirect_uri": {"http://127.0.0.1:5173/"}, "state": {"xyz"}}.Encode())
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "http://127.0.0.1:5173/?state=xyz" {
		t.Fatalf("logout: %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if status, _ := h.GetBearer("/auth/check", tr.AccessToken, nil); status != http.StatusUnauthorized {
		t.Errorf("check after RP-initiated logout: %d, want 401", status)
	}
}

func TestCORS(t *testing.T) {
	h := servertest.New(t, "")
	preflight := func(origin string) *http.Response {
		req := servertest.MustRequest(t, http.MethodOptions, h.Issuer+"/auth/refresh")
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	ok := preflight("http://127.0.0.1:5173")
	if ok.Header.Get("Access-Control-Allow-Origin") != "http://127.0.0.1:5173" || !strings.Contains(ok.Header.Get("Vary"), "Origin") {
		t.Errorf("allowed origin: ACAO %q Vary %q", ok.Header.Get("Access-Control-Allow-Origin"), ok.Header.Get("Vary"))
	}
	for _, origin := range []string{"https://evil.test", "null"} {
		if got := preflight(origin).Header.Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("origin %s: ACAO %q, want none", origin, got)
		}
	}
	// The browser flow is navigation, never CORS.
	req := servertest.MustRequest(t, http.MethodGet, h.AuthorizeURL("/authorize", "spa", servertest.NewPKCE(), nil))
	req.Header.Set("Origin", "http://127.0.0.1:5173")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("/authorize sent ACAO %q", got)
	}
}

func TestHealth(t *testing.T) {
	h := servertest.New(t, "")
	for _, path := range []string{"/healthz", "/readyz"} {
		if status := h.Do(servertest.MustRequest(t, http.MethodGet, h.Issuer+path), nil); status != http.StatusOK {
			t.Errorf("%s: %d", path, status)
		}
	}
}

// TestNoSecretsInLogs runs sign-ins, refreshes and failures, then scans the
// broker's logs for every secret that passed through it.
func TestNoSecretsInLogs(t *testing.T) {
	h := servertest.New(t, "")
	tr := h.SignIn("google", "spa", servertest.Alice)
	rr, _ := h.RefreshGrant("spa", tr.RefreshToken)
	h.RefreshGrant("spa", "garbage."+tr.RefreshToken)
	h.GetBearer("/auth/me", tr.AccessToken+"x", nil)
	logs := h.Logs.String()
	if !strings.Contains(logs, "sign-in") {
		t.Fatal("expected the sign-in to be logged; is the logger wired?")
	}
	for name, secret := range map[string]string{
		"access token": tr.AccessToken, "refresh token": tr.RefreshToken, "id token": tr.IDToken,
		"rotated refresh token": rr.RefreshToken, "client secret": servertest.ConfidentialSecret,
		"upstream secret": "g-secret",
	} {
		if secret != "" && strings.Contains(logs, secret) {
			t.Errorf("the logs contain the %s", name)
		}
	}
}

// TestMetrics: /metrics is a Prometheus exposition counting requests by
// route template and status, never by raw path or made-up method.
func TestMetrics(t *testing.T) {
	h := servertest.New(t, "")
	tr := h.SignIn("github", "spa", servertest.Alice)
	h.GetBearer("/auth/check", tr.AccessToken, nil)
	h.GetBearer("/auth/check", "forged", nil)
	h.Do(servertest.MustRequest(t, http.MethodGet, h.Issuer+"/no/such/path/secret-looking-value"), nil)
	h.Do(servertest.MustRequest(t, "MADEUP1", h.Issuer+"/auth/check"), nil)
	resp, err := http.Get(h.Issuer + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body := servertest.ReadAll(t, resp)
	resp.Body.Close()
	for _, want := range []string{
		`broker_http_requests_total{code="200",method="GET",route="/auth/check"} 1`,
		`broker_http_requests_total{code="401",method="GET",route="/auth/check"} 1`,
		`broker_http_requests_total{code="302",method="GET",route="/auth/:provider/callback"} 1`,
		`broker_http_request_duration_seconds_bucket{route="/token"`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(body, "secret-looking-value") || strings.Contains(body, tr.AccessToken) {
		t.Error("/metrics shows a raw path or a token")
	}
	// A method a client makes up must not start a series of its own.
	if strings.Contains(body, "MADEUP1") || !strings.Contains(body, `method="other"`) {
		t.Error("/metrics labels a made-up method as itself, not as other")
	}
}

// Browser OIDC libraries fetch the metadata and the JWKS cross-origin
// before anything else: any origin may read them, without credentials.
func TestPublicMetadataCORS(t *testing.T) {
	h := servertest.New(t, "")
	for _, path := range []string{"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server", "/.well-known/jwks.json"} {
		req := servertest.MustRequest(t, http.MethodGet, h.Issuer+path)
		req.Header.Set("Origin", "https://any-app.example")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Access-Control-Allow-Origin"); resp.StatusCode != http.StatusOK || got != "*" {
			t.Errorf("GET %s: status %d, Access-Control-Allow-Origin %q, want 200 and *", path, resp.StatusCode, got)
		}
		if got := resp.Header.Get("Access-Control-Allow-Credentials"); got != "" {
			t.Errorf("GET %s: Access-Control-Allow-Credentials %q, want none", path, got)
		}
		pre := servertest.MustRequest(t, http.MethodOptions, h.Issuer+path)
		pre.Header.Set("Origin", "https://any-app.example")
		pre.Header.Set("Access-Control-Request-Method", "GET")
		resp, err = http.DefaultClient.Do(pre)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("preflight %s: status %d, want 204 with *", path, resp.StatusCode)
		}
	}
}

// oidc-client-ts and most RP libraries keep the sign-in's ID token and
// send it as id_token_hint at logout, however long the session has lived
// and however many times the signing key rotated meanwhile (refresh
// grants issue no new ID token). A retired key must keep verifying hints
// for as long as a session may live.
func TestLogoutHintOutlivesKeyRotation(t *testing.T) {
	h := servertest.New(t, "")
	tr := h.SignIn("google", "spa", servertest.Alice)
	h.Clock.Advance(20 * 24 * time.Hour)
	next, status := h.RefreshGrant("spa", tr.RefreshToken) // keeps the session alive
	if status != http.StatusOK {
		t.Fatalf("refresh on day 20: %d %+v", status, next)
	}
	h.Clock.Advance(15 * 24 * time.Hour)
	// Each replica refreshes the keys as it starts: the first publishes a
	// new key (the old one is near key_rotation), the second, once the new
	// key has been published long enough (a tenth of key_rotation), signs
	// with it and retires the old one, the third loads what is still in
	// force two hours later.
	h.AddReplica()
	h.Clock.Advance(4 * 24 * time.Hour)
	h.AddReplica()
	h.Clock.Advance(2 * time.Hour)
	h.Issuer = h.AddReplica()

	resp := h.NewBrowser().Get(h.Issuer + "/logout?" + url.Values{"id_token_hint": {tr.IDToken}, "post_logout_redirect_uri": {"http://127.0.0.1:5173/"}}.Encode())
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("logout with a 39-day-old hint: status %d, want a redirect back to the app", resp.StatusCode)
	}
	if _, status := h.RefreshGrant("spa", next.RefreshToken); status != http.StatusBadRequest {
		t.Errorf("refresh after logout: status %d, want 400: the session must have ended", status)
	}
}
