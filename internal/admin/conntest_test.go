package admin_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/socialbroker/broker/providers/providertest"
)

// TestConnectionTest: the test of a connection fetches its discovery
// document as the broker will, and says what it found or what failed;
// an OAuth 2.0 type has none to fetch.
func TestConnectionTest(t *testing.T) {
	h := newHarness(t, privateNets)
	key := h.key("", "connections:read", "connections:write")
	okta := providertest.NewOIDC(providertest.OIDCOptions{Title: "Okta", ClientID: "okta-client", ClientSecret: "okta-secret"})
	t.Cleanup(okta.Close)
	down := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(down.Close)

	h.must(201, "POST", "/connections", key, map[string]any{"id": "okta", "type": "oidc", "issuer": okta.URL(), "client_id": "okta-client", "client_secret": "okta-secret"})
	h.must(201, "POST", "/connections", key, map[string]any{"id": "gone", "type": "oidc", "issuer": down.URL, "client_id": "c", "client_secret": "s"})
	h.must(201, "POST", "/connections", key, map[string]any{"id": "gh", "type": "github", "client_id": "c", "client_secret": "s"})

	for _, tc := range []struct {
		id, want      string
		ok, discovery bool
	}{
		{"okta", okta.URL() + "/token", true, true}, // created here
		{"corp", h.corp.URL(), true, true},          // config.toml's
		{"gone", "404 Not Found", false, true},
		{"gh", "publishes no discovery document", false, false},
	} {
		r := h.must(200, "POST", "/connections/"+tc.id+"/test", key, nil)
		if r.body["ok"] != tc.ok || r.body["discovery"] != tc.discovery || !strings.Contains(r.raw, tc.want) {
			t.Errorf("test %s: %s, want ok=%v discovery=%v and %q", tc.id, r.raw, tc.ok, tc.discovery, tc.want)
		}
	}
	h.must(404, "POST", "/connections/nosuch/test", key, nil)
	if r := h.do("POST", "/connections/okta/test", h.key("", "audit:read"), nil); r.status != 403 {
		t.Errorf("test with audit:read: %d, want 403", r.status)
	}

	types := h.must(200, "GET", "/connection-types", key, nil)
	if !strings.Contains(types.raw, `"type":"oidc"`) || !strings.Contains(types.raw, `"issuer"`) || !strings.Contains(types.raw, `"type":"github"`) {
		t.Errorf("connection types: %.400s", types.raw)
	}
}

// TestConnectionTestGuarded: without admin.allow_private_networks the
// test's fetch goes through the SSRF guard: an upstream on loopback (here
// config.toml's corp) is not reached.
func TestConnectionTestGuarded(t *testing.T) {
	h := newHarness(t, "")
	key := h.key("", "admin")
	r := h.must(200, "POST", "/connections/corp/test", key, nil)
	if r.body["ok"] != false || !strings.Contains(r.str("error"), "netguard") {
		t.Errorf("test of a loopback upstream without allow_private_networks: %s, want refused", r.raw)
	}
}
