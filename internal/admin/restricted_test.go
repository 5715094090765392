package admin_test

import (
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestRestrictedKey: a key restricted to tenant a sees and changes a
// alone; b is, to it, a tenant that does not exist.
func TestRestrictedKey(t *testing.T) {
	h := newHarness(t, "")
	key := h.key("", "admin")
	for _, id := range []string{"a", "b"} {
		h.must(201, "POST", "/tenants", key, map[string]any{"id": id, "redirect_uris": []string{"https://" + id + ".example/cb"}, "providers": []string{"corp"}, "confidential": true})
	}
	keyA := h.key("a", "tenants:read", "tenants:write", "audit:read")
	if r := h.must(200, "GET", "/tenants", keyA, nil); len(r.items()) != 1 || r.items()[0]["id"] != "a" {
		t.Errorf("a's key lists %s, want a alone", r.raw)
	}
	for _, req := range [][2]string{{"GET", "/tenants/b"}, {"PATCH", "/tenants/b"}, {"DELETE", "/tenants/b"}, {"POST", "/tenants/b/secret"}, {"GET", "/tenants/cfg-app"}} {
		var body any
		if req[0] == "PATCH" {
			body = map[string]any{"name": "x"}
		}
		if r := h.do(req[0], req[1], keyA, body); r.status != 404 {
			t.Errorf("%s %s with a's key: %d %s, want 404", req[0], req[1], r.status, r.raw)
		}
	}
	if r := h.do("POST", "/tenants", keyA, map[string]any{"id": "c", "redirect_uris": []string{"https://c.example/cb"}, "providers": []string{"corp"}}); r.status != 403 {
		t.Errorf("a's key creating tenant c: %d, want 403", r.status)
	}
	h.must(200, "PATCH", "/tenants/a", keyA, map[string]any{"name": "A"})
	for _, e := range h.must(200, "GET", "/audit", keyA, nil).items() {
		if e["tenant"] != "a" {
			t.Errorf("a's key sees an event of %v: %v", e["tenant"], e)
		}
	}
	if r := h.must(200, "GET", "/audit?tenant=b", keyA, nil); len(r.items()) != 0 {
		t.Errorf("a's key asking for b's events: %s", r.raw)
	}
}

// TestAuditTrail: every change is in the audit log, newest first, with
// its actor and address, filtered and paged, and never a secret.
func TestAuditTrail(t *testing.T) {
	h := newHarness(t, privateNets)
	key := h.key("", "admin")
	keyID := strings.Split(key, "_")[1]
	start := time.Now().UTC().Add(-time.Second)
	created := h.must(201, "POST", "/tenants", key, map[string]any{"id": "app", "redirect_uris": []string{"https://app.example/cb"}, "providers": []string{"corp"}, "confidential": true})
	rotated := h.must(200, "POST", "/tenants/app/secret", key, nil)
	h.must(200, "PATCH", "/tenants/app", key, map[string]any{"name": "App"})
	h.must(201, "POST", "/connections", key, map[string]any{"id": "idp", "type": "oidc", "issuer": h.corp.URL(), "client_id": "c", "client_secret": "conn-secret-0123", "tenant": "app"})
	h.must(200, "PATCH", "/connections/idp", key, map[string]any{"client_secret": "conn-secret-4567"})
	h.must(204, "DELETE", "/tenants/app", key, nil)
	if err := revokeKey(h, h.key("", "audit:read")[3:19]); err != nil {
		t.Fatal(err)
	}

	r := h.must(200, "GET", "/audit", key, nil)
	var types []string
	var last float64
	for i, e := range r.items() {
		types = append(types, e["type"].(string))
		id := e["id"].(float64)
		if i > 0 && id >= last {
			t.Errorf("audit not newest first: %v after %v", id, last)
		}
		last = id
	}
	for _, ty := range []string{"key.created", "key.revoked", "tenant.created", "tenant.updated", "tenant.deleted", "connection.created", "connection.updated", "connection.deleted"} {
		if !slices.Contains(types, ty) {
			t.Errorf("audit log %v lacks %s", types, ty)
		}
	}
	for _, e := range r.items() {
		if strings.HasPrefix(e["type"].(string), "key.") && e["actor"] != "cli:admin-keys" {
			t.Errorf("event %v: want actor cli:admin-keys", e)
		}
		if strings.HasPrefix(e["type"].(string), "tenant.") && (e["actor"] != "key:"+keyID || e["ip"] != "127.0.0.1" || e["tenant"] != "app") {
			t.Errorf("event %v: want actor key:%s, ip 127.0.0.1, tenant app", e, keyID)
		}
	}
	if r := h.must(200, "GET", "/audit?type=tenant.updated", key, nil); len(r.items()) != 2 {
		t.Errorf("tenant.updated events: %s, want 2 (rotation and patch)", r.raw)
	}
	if r := h.must(200, "GET", "/audit?since="+url.QueryEscape(time.Now().UTC().Add(time.Hour).Format(time.RFC3339)), key, nil); len(r.items()) != 0 {
		t.Errorf("events since an hour from now: %s", r.raw)
	}
	if r := h.must(200, "GET", "/audit?since="+start.Format(time.RFC3339), key, nil); len(r.items()) != len(types) {
		t.Errorf("events since the start: %d, want %d", len(r.items()), len(types))
	}
	if r := h.do("GET", "/audit?since=yesterday", key, nil); r.status != 400 {
		t.Errorf("since=yesterday: %d, want 400", r.status)
	}
	// Paging walks the same events.
	var paged []string
	cursor := ""
	for {
		p := h.must(200, "GET", "/audit?limit=3&cursor="+cursor, key, nil)
		for _, e := range p.items() {
			paged = append(paged, e["type"].(string))
		}
		if cursor = p.str("next_cursor"); cursor == "" {
			break
		}
	}
	if !slices.Equal(paged, types) {
		t.Errorf("paged %v, want %v", paged, types)
	}
	h.notLogged(key, created.str("client_secret"), rotated.str("client_secret"))
	h.noSecrets(key, "conn-secret-0123", "conn-secret-4567")
	if regexp.MustCompile(`bk_[a-z2-7]{16}_`).MatchString(h.Logs.String()) {
		t.Error("an admin key appears in the log")
	}
}
