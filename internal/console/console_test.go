package console_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/socialbroker/broker/internal/server/servertest"
)

// TestServed: the console's page and files are served under /admin/ with
// the broker's strict page headers, and the page carries no inline
// script or style for the CSP to have to allow.
func TestServed(t *testing.T) {
	h := servertest.New(t, "")
	for _, tc := range []struct{ path, ctype, body string }{
		{"/admin/", "text/html", `<script type="module" src="ui/app.js"></script>`},
		{"/admin/callback", "text/html", `ui/app.js`},
		{"/admin/ui/app.js", "text/javascript", "import"},
		{"/admin/ui/console.css", "text/css", ":root"},
		{"/admin/ui/pages/tenants.js", "text/javascript", "export async function render"},
	} {
		resp, err := http.Get(h.Issuer + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), tc.ctype) || !strings.Contains(string(body), tc.body) {
			t.Errorf("GET %s: %d %s, want 200 %s with %q", tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), tc.ctype, tc.body)
		}
		if tc.ctype == "text/html" {
			csp := resp.Header.Get("Content-Security-Policy")
			if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || !strings.Contains(csp, "frame-ancestors 'none'") {
				t.Errorf("GET %s: CSP %q", tc.path, csp)
			}
			if strings.Contains(string(body), "<script>") || strings.Contains(string(body), "style=") || strings.Contains(string(body), "<style") {
				t.Errorf("GET %s: inline script or style in the page", tc.path)
			}
		}
	}
	resp, err := http.Get(h.Issuer + "/admin/ui/nosuch.js")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("GET /admin/ui/nosuch.js: %d, want 404", resp.StatusCode)
	}
}

// TestNotServedWithAdminListen: with admin_listen the API is off the main
// listener, and so is the console that needs it there.
func TestNotServedWithAdminListen(t *testing.T) {
	h := servertest.StartConfig(t, func(issuer string) string {
		return `issuer = "` + issuer + `"
admin_listen = "127.0.0.1:0"
[database]
url = "sqlite:` + t.TempDir() + `/b.db"
[providers.google]
client_id = "g"
client_secret = "gs"
[[tenants]]
id = "app"
redirect_uris = ["https://app.example/cb"]
providers = ["google"]
`
	})
	for _, path := range []string{"/admin/", "/admin/ui/app.js"} {
		resp, err := http.Get(h.Issuer + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Errorf("GET %s with admin_listen: %d, want 404", path, resp.StatusCode)
		}
	}
}
