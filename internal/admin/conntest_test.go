package admin_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/socialbroker/broker/internal/config"
	"github.com/socialbroker/broker/internal/tenants"
	"github.com/socialbroker/broker/providers"
	"github.com/socialbroker/broker/providers/providertest"
	"github.com/socialbroker/broker/storage"
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
// test of a runtime connection goes through the SSRF guard, like its
// sign-ins: a connection aimed at loopback (here written to the database
// behind the API's back, as DNS rebinding would aim a checked one) is not
// fetched. config.toml's providers, trusted by the operator, are fetched
// as sign-ins reach them.
func TestConnectionTestGuarded(t *testing.T) {
	h := newHarness(t, "")
	key := h.key("", "admin")
	p := &config.Provider{Spec: providers.Spec{Name: "sneaky", Type: "oidc", Issuer: h.corp.URL(), ClientID: "c"}}
	doc, err := tenants.ConnectionDoc(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.store().CreateRecord(t.Context(), storage.Record{Kind: storage.KindConnection, ID: "sneaky", Doc: doc, CreatedAt: timeNow()}); err != nil {
		t.Fatal(err)
	}
	r := h.must(200, "POST", "/connections/sneaky/test", key, nil)
	if r.body["ok"] != false || !strings.Contains(r.str("error"), "netguard") {
		t.Errorf("test of a loopback connection without allow_private_networks: %s, want refused by netguard", r.raw)
	}
	if r := h.must(200, "POST", "/connections/corp/test", key, nil); r.body["ok"] != true {
		t.Errorf("test of config.toml's corp: %s, want ok", r.raw)
	}
}
