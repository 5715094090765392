package admin_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/socialbroker/broker/internal/server"
)

// TestOpenAPIServed: the broker serves its OpenAPI document, and answers
// every operation it documents (without a key: 401, not 404 or 405).
func TestOpenAPIServed(t *testing.T) {
	h := newHarness(t, "")
	doc := h.must(200, "GET", "/openapi.json", "", nil)
	if doc.str("openapi") != "3.1.0" {
		t.Fatalf("openapi = %q", doc.str("openapi"))
	}
	param := regexp.MustCompile(`\{[a-z]+\}`)
	paths, _ := doc.body["paths"].(map[string]any)
	for path, ops := range paths {
		for method, op := range ops.(map[string]any) {
			if _, secured := op.(map[string]any)["security"]; !secured {
				continue
			}
			concrete := param.ReplaceAllString(path, "x.example")
			if r := h.do(strings.ToUpper(method), concrete, "", nil); r.status != 401 {
				t.Errorf("%s %s: %d %s, want 401", strings.ToUpper(method), concrete, r.status, r.raw)
			}
		}
	}
	if len(paths) < 10 {
		t.Errorf("only %d paths documented", len(paths))
	}
}

// TestAdminListen: with admin_listen, the API answers there and only
// there.
func TestAdminListen(t *testing.T) {
	h := startHarness(t, "", `admin_listen = "127.0.0.1:0"`, "")
	key := h.key("", "admin")
	h.must(200, "GET", "/tenants", key, nil)
	req, _ := http.NewRequest("GET", h.Issuer+"/admin/v1/tenants", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("the main listener under /admin/v1 with admin_listen set: %d, want 404", resp.StatusCode)
	}
}

// TestSecretsKeyCheckedAtStart: a broker started with another
// secrets_key than the one its database's secrets were sealed with, or
// with none while connections exist, stops at start, naming secrets_key.
func TestSecretsKeyCheckedAtStart(t *testing.T) {
	h := newHarness(t, privateNets)
	key := h.key("", "admin")
	h.must(201, "POST", "/connections", key, map[string]any{"id": "idp", "type": "oidc", "issuer": h.corp.URL(), "client_id": "c", "client_secret": "s3cret-value"})
	for _, k := range []string{"ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICA=", ""} {
		cfg := *h.Cfg
		cfg.SecretsKey = k
		srv, err := server.New(t.Context(), &cfg, server.Options{})
		if err == nil {
			srv.Close()
			t.Errorf("secrets_key %q: the broker started", k)
		} else if !strings.Contains(err.Error(), "secrets_key") || strings.Contains(err.Error(), "s3cret-value") {
			t.Errorf("secrets_key %q: %v, want an error naming secrets_key", k, err)
		}
	}
}
