package oauth_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"testing"

	"github.com/socialbroker/broker/internal/server/servertest"
)

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
