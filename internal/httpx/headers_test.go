package httpx_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/socialbroker/broker/internal/server/servertest"
)

// TestResponseHeaders: every answer carries nosniff, no-referrer and
// DENY; every answer that carries tokens or describes a session carries
// Cache-Control: no-store and Pragma: no-cache (RFC 6749 §5.1), errors
// included; the broker's HTML pages carry their Content-Security-Policy.
func TestResponseHeaders(t *testing.T) {
	h := servertest.New(t, "")
	tokens := h.SignIn("google", "spa", servertest.Alice)
	p := servertest.NewPKCE()
	q := h.Login(h.NewBrowser(), "google", "spa", servertest.Alice, p)

	form := func(v url.Values) *http.Request {
		req, _ := http.NewRequest(http.MethodPost, h.Issuer+"/token", strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return req
	}
	bearer := func(path string) *http.Request {
		req, _ := http.NewRequest(http.MethodGet, h.Issuer+path, nil)
		req.Header.Set("Authorization", "Bearer "+tokens.AccessToken)
		req.Header.Set("X-Tenant-ID", "spa")
		return req
	}
	get := func(path string) *http.Request {
		req, _ := http.NewRequest(http.MethodGet, h.Issuer+path, nil)
		return req
	}
	tests := []struct {
		name          string
		req           *http.Request
		status        int
		noStore, page bool
	}{
		{"token", form(url.Values{"grant_type": {"authorization_code"}, "code": {q.Get("code")},
			"redirect_uri": {servertest.AppRedirect}, "client_id": {"spa"}, "code_verifier": {p.Verifier}}), http.StatusOK, true, false},
		{"token error", form(url.Values{"grant_type": {"authorization_code"}, "code": {"guess"},
			"redirect_uri": {servertest.AppRedirect}, "client_id": {"spa"}, "code_verifier": {p.Verifier}}), http.StatusBadRequest, true, false},
		{"check", bearer("/auth/check"), http.StatusOK, true, false},
		{"me", bearer("/auth/me"), http.StatusOK, true, false},
		{"userinfo", bearer("/userinfo"), http.StatusOK, true, false},
		{"JWKS", get("/.well-known/jwks.json"), http.StatusOK, false, false},
		{"error page", get("/authorize"), http.StatusBadRequest, false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.DefaultClient.Do(tt.req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			want := map[string]string{
				"X-Content-Type-Options": "nosniff",
				"Referrer-Policy":        "no-referrer",
				"X-Frame-Options":        "DENY",
			}
			if tt.noStore {
				want["Cache-Control"], want["Pragma"] = "no-store", "no-cache"
			}
			for k, v := range want {
				if got := resp.Header.Values(k); len(got) != 1 || got[0] != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			if csp := resp.Header.Get("Content-Security-Policy"); tt.page && !strings.Contains(csp, "frame-ancestors 'none'") {
				t.Errorf("Content-Security-Policy %q, want the page policy", csp)
			}
		})
	}
}
