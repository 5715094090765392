package admin_test

import (
	"slices"
	"testing"
)

func TestDomains(t *testing.T) {
	h := newHarness(t, privateNets)
	key := h.key("", "admin")
	h.must(201, "POST", "/connections", key, map[string]any{"id": "okta", "type": "oidc", "issuer": h.corp.URL(), "client_id": "c"})

	d := h.must(201, "POST", "/connections/okta/domains", key, map[string]any{"domain": "Acme.Example"})
	if d.str("domain") != "acme.example" || d.body["verified"] != false || d.str("txt_name") != "_broker-verify.acme.example" || d.str("txt_value") == "" {
		t.Fatalf("claimed: %s", d.raw)
	}
	// Before the record is published: not verified.
	if r := h.must(200, "POST", "/connections/okta/domains/acme.example/verify", key, nil); r.body["verified"] != false {
		t.Errorf("verified without a TXT record: %s", r.raw)
	}
	h.dns.AddTXT("_broker-verify.acme.example", "unrelated")
	h.dns.AddTXT("_broker-verify.acme.example", d.str("txt_value"))
	if r := h.must(200, "POST", "/connections/okta/domains/acme.example/verify", key, nil); r.body["verified"] != true || r.str("verified_at") == "" {
		t.Errorf("verify with the record published: %s", r.raw)
	}
	if r := h.must(200, "GET", "/connections/okta/domains/acme.example", key, nil); r.body["verified"] != true {
		t.Errorf("GET after verification: %s", r.raw)
	}
	// A domain is one connection's.
	h.must(201, "POST", "/connections", key, map[string]any{"id": "other", "type": "oidc", "issuer": h.corp.URL(), "client_id": "c"})
	if r := h.do("POST", "/connections/other/domains", key, map[string]any{"domain": "acme.example"}); r.status != 409 {
		t.Errorf("claiming another connection's domain: %d, want 409", r.status)
	}
	if r := h.do("GET", "/connections/other/domains/acme.example", key, nil); r.status != 404 {
		t.Errorf("another connection's domain through this one: %d, want 404", r.status)
	}
	for _, bad := range []any{"", "not a domain", "a/b.example", "-x.example", "localhost", 7} {
		if r := h.do("POST", "/connections/okta/domains", key, map[string]any{"domain": bad}); r.status != 422 || !slices.Contains(r.problemFields(), "domain") {
			t.Errorf("domain %v: %d %s, want 422 naming domain", bad, r.status, r.raw)
		}
	}
	if r := h.do("POST", "/connections/okta/domains", key, map[string]any{"domain": "b.example", "verified": true}); r.status != 422 || !slices.Contains(r.problemFields(), "verified") {
		t.Errorf("a claim setting verified: %d %s, want 422", r.status, r.raw)
	}
	if r := h.do("POST", "/connections/corp/domains", key, map[string]any{"domain": "b.example"}); r.status != 409 {
		t.Errorf("a domain for config.toml's provider: %d, want 409", r.status)
	}
	if items := h.must(200, "GET", "/connections/okta/domains", key, nil).items(); len(items) != 1 || items[0]["domain"] != "acme.example" {
		t.Errorf("domains = %v", items)
	}
	// The record withdrawn: the next check unverifies.
	h.dns.Remove("_broker-verify.acme.example")
	if r := h.must(200, "POST", "/connections/okta/domains/acme.example/verify", key, nil); r.body["verified"] != false {
		t.Errorf("verify after the record is gone: %s", r.raw)
	}
	// A DNS failure proves nothing: 503, nothing changed.
	h.dns.AddTXT("_broker-verify.acme.example", d.str("txt_value"))
	h.must(200, "POST", "/connections/okta/domains/acme.example/verify", key, nil)
	h.dns.Fail("_broker-verify.acme.example")
	if r := h.do("POST", "/connections/okta/domains/acme.example/verify", key, nil); r.status != 503 {
		t.Errorf("verify while DNS fails: %d %s, want 503", r.status, r.raw)
	}
	if r := h.must(200, "GET", "/connections/okta/domains/acme.example", key, nil); r.body["verified"] != true {
		t.Errorf("a failed lookup changed the domain: %s", r.raw)
	}
	h.must(204, "DELETE", "/connections/okta/domains/acme.example", key, nil)
	if r := h.do("GET", "/connections/okta/domains/acme.example", key, nil); r.status != 404 {
		t.Errorf("deleted domain: %d, want 404", r.status)
	}
	// The trail: claimed, verified, unverified, verified, deleted.
	var types []string
	for _, e := range h.must(200, "GET", "/audit?limit=200", key, nil).items() {
		if ty := e["type"].(string); len(ty) > 7 && ty[:7] == "domain." {
			types = append(types, ty)
		}
	}
	want := []string{"domain.deleted", "domain.verified", "domain.unverified", "domain.verified", "domain.created"}
	if !slices.Equal(types, want) {
		t.Errorf("domain events, newest first = %v, want %v", types, want)
	}
}
