package httpx_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/socialbroker/broker/internal/server/servertest"
)

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
