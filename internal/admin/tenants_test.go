package admin_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

func timeNow() time.Time { return time.Now() }

func TestKeys(t *testing.T) {
	h := newHarness(t, "")
	all := h.key("", "admin")
	reader := h.key("", "tenants:read")

	r := h.do("GET", "/tenants", "", nil)
	if r.status != 401 || !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") || r.str("error") != "invalid_key" {
		t.Errorf("no key: %d %v %s, want 401 with a Bearer challenge", r.status, r.header.Get("WWW-Authenticate"), r.raw)
	}
	// A well-formed key with a wrong secret, and garbage.
	wrong := all[:len(all)-4] + "AAAA"
	for _, k := range []string{wrong, "bk_nope", "Bearer"} {
		if r := h.do("GET", "/tenants", k, nil); r.status != 401 {
			t.Errorf("key %q: %d, want 401", k, r.status)
		}
	}
	h.must(200, "GET", "/tenants", reader, nil)
	r = h.do("POST", "/tenants", reader, map[string]any{"id": "x"})
	if r.status != 403 || r.str("error") != "insufficient_scope" {
		t.Errorf("tenants:read creating a tenant: %d %s, want 403 insufficient_scope", r.status, r.raw)
	}
	if r := h.do("GET", "/audit", reader, nil); r.status != 403 {
		t.Errorf("tenants:read reading the audit log: %d, want 403", r.status)
	}
	// admin holds every scope.
	h.must(200, "GET", "/audit", all, nil)

	// A revoked key stops working at once.
	id := strings.Split(reader, "_")[1]
	if err := revokeKey(h, id); err != nil {
		t.Fatal(err)
	}
	if r := h.do("GET", "/tenants", reader, nil); r.status != 401 {
		t.Errorf("revoked key: %d, want 401", r.status)
	}

	// Failed attempts are limited per client address: ten, then 429,
	// even for a good key, until the budget refills.
	var got []int
	for range 12 {
		got = append(got, h.do("GET", "/tenants", wrong, nil).status)
	}
	if !slices.Contains(got, 429) {
		t.Errorf("12 bad keys in a row: %v, want 429s", got)
	}
	if r := h.do("GET", "/tenants", all, nil); r.status != 429 || r.header.Get("Retry-After") == "" {
		t.Errorf("a good key after the budget is spent: %d, want 429 with Retry-After", r.status)
	}
}

func TestTenantLifecycle(t *testing.T) {
	h := newHarness(t, "")
	key := h.key("", "tenants:read", "tenants:write")

	pub := h.must(201, "POST", "/tenants", key, map[string]any{
		"id": "spa", "name": "The SPA", "redirect_uris": []string{"http://127.0.0.1:5173/cb"},
		"allowed_origins": []string{"http://127.0.0.1:5173"}, "providers": []string{"corp"},
		"roles": []any{map[string]any{"role": "viewer", "everyone": true}},
	})
	if pub.body["confidential"] != false || pub.body["managed_by"] != "api" || pub.str("client_secret") != "" || pub.str("refresh_token_delivery") != "body" {
		t.Errorf("public tenant: %s", pub.raw)
	}
	conf := h.must(201, "POST", "/tenants", key, map[string]any{
		"id": "server", "redirect_uris": []string{"https://app.example.com/cb"}, "providers": []string{"corp"}, "confidential": true,
	})
	secret := conf.str("client_secret")
	if len(secret) < 32 || conf.body["confidential"] != true {
		t.Fatalf("confidential tenant: %s, want a client_secret", conf.raw)
	}
	if got := h.must(200, "GET", "/tenants/server", key, nil); strings.Contains(got.raw, secret) || got.str("client_secret") != "" {
		t.Errorf("GET shows the secret: %s", got.raw)
	}
	// The tenant is in force at once: its secret authenticates it.
	if s := introspect(t, h, "server", secret); s != 200 {
		t.Errorf("introspect with the new tenant's secret: %d, want 200", s)
	}

	// Listing merges config.toml's tenants (read-only) with the API's, in
	// id order, a page at a time.
	var ids []string
	cursor := ""
	for pages := 0; ; pages++ {
		r := h.must(200, "GET", "/tenants?limit=2&cursor="+url.QueryEscape(cursor), key, nil)
		for _, it := range r.items() {
			ids = append(ids, it["id"].(string))
			if it["id"] == "cfg-app" && it["managed_by"] != "config" {
				t.Errorf("cfg-app: managed_by %v, want config", it["managed_by"])
			}
		}
		next, has := r.body["next_cursor"].(string)
		if !has {
			if len(r.items()) == 0 && pages > 0 {
				t.Error("a last page with no items: next_cursor was given on the page before")
			}
			break
		}
		cursor = next
	}
	// broker-console is the admin console's built-in tenant.
	if want := []string{"broker-console", "cfg-app", "server", "spa"}; !slices.Equal(ids, want) {
		t.Errorf("tenants = %v, want %v", ids, want)
	}

	// JSON merge patch: a member replaced, one removed (null), the rest kept.
	r := h.must(200, "PATCH", "/tenants/spa", key, map[string]any{"name": "Renamed", "allowed_origins": nil})
	if r.str("name") != "Renamed" || r.body["allowed_origins"] != nil || r.body["roles"] == nil {
		t.Errorf("patched: %s", r.raw)
	}
	if r := h.do("PATCH", "/tenants/spa", key, map[string]any{"redirect_uris": []string{"ftp://x"}}); r.status != 422 || !slices.Contains(r.problemFields(), "redirect_uris[0]") {
		t.Errorf("patch to a bad redirect URI: %d %s, want 422 naming redirect_uris[0]", r.status, r.raw)
	}
	if r := h.do("PATCH", "/tenants/cfg-app", key, map[string]any{"name": "x"}); r.status != 409 {
		t.Errorf("patch of a config.toml tenant: %d, want 409", r.status)
	}
	if r := h.do("DELETE", "/tenants/cfg-app", key, nil); r.status != 409 {
		t.Errorf("delete of a config.toml tenant: %d, want 409", r.status)
	}

	// Rotation: the old secret stops working, the new one works.
	rot := h.must(200, "POST", "/tenants/server/secret", key, nil)
	newSecret := rot.str("client_secret")
	if newSecret == "" || newSecret == secret {
		t.Fatalf("rotation: %s", rot.raw)
	}
	if s := introspect(t, h, "server", secret); s != 401 {
		t.Errorf("the old secret after rotation: %d, want 401", s)
	}
	if s := introspect(t, h, "server", newSecret); s != 200 {
		t.Errorf("the new secret: %d, want 200", s)
	}
	if r := h.do("POST", "/tenants/spa/secret", key, nil); r.status != 409 {
		t.Errorf("rotating a public tenant's secret: %d, want 409", r.status)
	}

	h.must(204, "DELETE", "/tenants/server", key, nil)
	if r := h.do("GET", "/tenants/server", key, nil); r.status != 404 {
		t.Errorf("deleted tenant: %d, want 404", r.status)
	}
	if s := introspect(t, h, "server", newSecret); s != 401 {
		t.Errorf("a deleted tenant's secret: %d, want 401", s)
	}
}

// introspect authenticates as a confidential client at /introspect and
// returns the status.
func introspect(t *testing.T, h *harness, id, secret string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", h.Issuer+"/introspect", strings.NewReader("token=nothing"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestTenantBadInput(t *testing.T) {
	h := newHarness(t, "")
	key := h.key("", "admin")
	good := func() map[string]any {
		return map[string]any{"id": "ok", "redirect_uris": []string{"https://a.example/cb"}, "providers": []string{"corp"}}
	}
	with := func(k string, v any) map[string]any {
		b := good()
		b[k] = v
		return b
	}
	for _, tc := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"unknown key", with("colour", "red"), "colour"},
		{"unknown nested key", with("access", map[string]any{"email_domain": []string{"a.example"}}), "access.email_domain"},
		{"bad id", with("id", "../etc"), "id"},
		{"long id", with("id", strings.Repeat("a", 65)), "id"},
		{"no redirect URIs", with("redirect_uris", []string{}), "redirect_uris"},
		{"http redirect URI", with("redirect_uris", []string{"http://evil.example/cb"}), "redirect_uris[0]"},
		{"wrong type", with("redirect_uris", "https://a.example/cb"), "redirect_uris"},
		{"unknown provider", with("providers", []string{"corp", "nope"}), "providers[1]"},
		{"secret given", with("client_secret", "0123456789012345678901234567890123"), "client_secret"},
		{"bad origin", with("allowed_origins", []string{"https://a.example/path"}), "allowed_origins[0]"},
		{"role to nobody", with("roles", []any{map[string]any{"role": "x"}}), "roles[0]"},
		{"read-only", with("managed_by", "api"), "managed_by"},
		{"confidential not a bool", with("confidential", "yes"), "confidential"},
		{"null is absent", with("redirect_uris", nil), "redirect_uris"},
	} {
		r := h.do("POST", "/tenants", key, tc.body)
		if r.status != 422 || r.str("error") == "" || !slices.Contains(r.problemFields(), tc.field) {
			t.Errorf("%s: %d %s, want 422 with a problem at %s", tc.name, r.status, r.raw, tc.field)
		}
	}
	for _, tc := range []struct {
		name, body string
		status     int
	}{
		{"not JSON", "{", 400},
		{"an array", "[]", 400},
		{"two values", `{"id":"a"} {}`, 400},
		{"too large", `{"name":"` + strings.Repeat("x", 70<<10) + `"}`, 413},
	} {
		if r := h.do("POST", "/tenants", key, tc.body); r.status != tc.status {
			t.Errorf("%s: %d %s, want %d", tc.name, r.status, r.raw, tc.status)
		}
	}
	req, _ := http.NewRequest("POST", h.Issuer+"/admin/v1/tenants", strings.NewReader("id=x"))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 415 {
		t.Errorf("a form body: %v %v, want 415", resp.StatusCode, err)
	}
	h.must(201, "POST", "/tenants", key, good())
	if r := h.do("POST", "/tenants", key, good()); r.status != 409 {
		t.Errorf("the same id twice: %d, want 409", r.status)
	}
	if r := h.do("POST", "/tenants", key, with("id", "cfg-app")); r.status != 409 {
		t.Errorf("a config.toml tenant's id: %d, want 409", r.status)
	}
	for _, p := range []string{"/tenants/a%20b", "/tenants/" + strings.Repeat("a", 65), "/nowhere"} {
		if r := h.do("GET", p, key, nil); r.status != 404 || r.str("error") != "not_found" {
			t.Errorf("GET %s: %d %s, want a JSON 404", p, r.status, r.raw)
		}
	}
	if r := h.do("GET", "/tenants?limit=0", key, nil); r.status != 400 {
		t.Errorf("limit=0: %d, want 400", r.status)
	}
	if r := h.do("GET", "/tenants?cursor=!!", key, nil); r.status != 400 {
		t.Errorf("a bad cursor: %d, want 400", r.status)
	}
}
