package appapi_test

import (
	"net/http"
	"testing"

	"github.com/socialbroker/broker/internal/server/servertest"
)

// The app endpoints that answer about one app's user require the calling
// app to be named (contract, Changes): a backend that forgot X-Tenant-ID
// would otherwise admit any app's token, users its own rules refuse
// included.
func TestAppEndpointsRequireTheApp(t *testing.T) {
	h := servertest.New(t, `
[[tenants]]
id = "twin-a"
redirect_uris = ["`+servertest.AppRedirect+`"]
allowed_origins = ["https://twins.example"]
providers = ["github"]
[[tenants]]
id = "twin-b"
redirect_uris = ["`+servertest.AppRedirect+`"]
allowed_origins = ["https://twins.example"]
providers = ["github"]
`)
	spa := h.SignIn("github", "spa", servertest.Alice)
	twin := h.SignIn("github", "twin-a", servertest.Alice)
	call := func(path, tok string, hdr map[string]string) (int, map[string]any) {
		req := servertest.MustRequest(t, http.MethodGet, h.Issuer+path)
		req.Header.Set("Authorization", "Bearer "+tok)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		var body map[string]any
		return h.Do(req, &body), body
	}
	for _, path := range []string{"/auth/check", "/auth/me", "/auth/permissions"} {
		tests := []struct {
			name   string
			tok    string
			hdr    map[string]string
			status int
			error  string
		}{
			{"no app named", spa.AccessToken, nil, http.StatusBadRequest, "invalid_request"},
			{"origin of two apps", twin.AccessToken, map[string]string{"Origin": "https://twins.example"}, http.StatusBadRequest, "invalid_request"},
			{"another app's token", spa.AccessToken, map[string]string{"X-Tenant-ID": "orgs"}, http.StatusUnauthorized, "invalid_token"},
			{"the app by X-Tenant-ID", spa.AccessToken, map[string]string{"X-Tenant-ID": "spa"}, http.StatusOK, ""},
			{"the app by its one origin", spa.AccessToken, map[string]string{"Origin": "http://127.0.0.1:5173"}, http.StatusOK, ""},
			{"origin of two apps, named", twin.AccessToken, map[string]string{"Origin": "https://twins.example", "X-Tenant-ID": "twin-a"}, http.StatusOK, ""},
		}
		for _, tt := range tests {
			status, body := call(path, tt.tok, tt.hdr)
			if status != tt.status || (tt.error != "" && body["error"] != tt.error) {
				t.Errorf("%s, %s: status %d %v, want %d %s", path, tt.name, status, body, tt.status, tt.error)
			}
		}
	}
}
