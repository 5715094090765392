package oauth_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"testing"

	"github.com/socialbroker/broker/internal/server/servertest"
)

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
