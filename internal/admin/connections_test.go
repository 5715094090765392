package admin_test

import (
	"bytes"
	"encoding/base64"
	"slices"
	"strings"
	"testing"

	"github.com/socialbroker/broker/internal/secretbox"
	"github.com/socialbroker/broker/internal/server/servertest"
	"github.com/socialbroker/broker/internal/tenants"
	"github.com/socialbroker/broker/providers/providertest"
	"github.com/socialbroker/broker/storage"
)

const privateNets = "allow_private_networks = true"

// storedSecret opens a connection's stored client_secret with the
// broker's key, as the registry does.
func storedSecret(t *testing.T, h *harness, id string) string {
	t.Helper()
	rec, err := h.store().GetRecord(t.Context(), storage.KindConnection, id)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := base64.StdEncoding.DecodeString(secretsKey)
	box, err := secretbox.New(key)
	if err != nil {
		t.Fatal(err)
	}
	p, err := tenants.ConnectionFromRecord(rec, box.Open)
	if err != nil {
		t.Fatal(err)
	}
	return p.ClientSecret
}

// loginGoesTo starts a sign-in to tenant through provider and returns
// where the broker sends the browser.
func loginGoesTo(t *testing.T, h *harness, tenant, provider string) (int, string) {
	t.Helper()
	resp, err := noRedirects.Get(h.AuthorizeURL("/auth/"+provider+"/login", tenant, servertest.NewPKCE(), nil))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Location")
}

func TestConnections(t *testing.T) {
	h := newHarness(t, privateNets)
	key := h.key("", "admin")
	okta := providertest.NewOIDC(providertest.OIDCOptions{Title: "Okta", ClientID: "okta-client", ClientSecret: "okta-s3cret-value"})
	t.Cleanup(okta.Close)

	r := h.must(201, "POST", "/connections", key, map[string]any{
		"id": "okta", "type": "oidc", "issuer": okta.URL(), "client_id": "okta-client", "client_secret": "okta-s3cret-value",
	})
	if got := r.body["secrets_set"]; len(got.([]any)) != 1 || r.str("managed_by") != "api" {
		t.Errorf("created: %s", r.raw)
	}
	rec, err := h.store().GetRecord(t.Context(), storage.KindConnection, "okta")
	if err != nil || bytes.Contains(rec.Doc, []byte("okta-s3cret-value")) {
		t.Errorf("stored document: %v %s, want the secret sealed", err, rec.Doc)
	}
	list := h.must(200, "GET", "/connections", key, nil)
	var ids []string
	for _, it := range list.items() {
		ids = append(ids, it["id"].(string))
	}
	if !slices.Equal(ids, []string{"corp", "okta"}) {
		t.Errorf("connections = %v, want config.toml's corp and okta", ids)
	}

	// A tenant names it as it names config.toml's providers, and it is in
	// force at once: the sign-in goes to its issuer.
	h.must(201, "POST", "/tenants", key, map[string]any{"id": "spa", "redirect_uris": []string{servertest.AppRedirect}, "providers": []string{"okta"}})
	if status, loc := loginGoesTo(t, h, "spa", "okta"); status != 302 || !strings.HasPrefix(loc, okta.URL()) {
		t.Errorf("sign-in through okta: %d to %q, want a redirect to %s", status, loc, okta.URL())
	}

	// A patch leaves the secret alone unless it names it.
	r = h.must(200, "PATCH", "/connections/okta", key, map[string]any{"display_name": "Okta SSO"})
	if r.str("display_name") != "Okta SSO" || storedSecret(t, h, "okta") != "okta-s3cret-value" {
		t.Errorf("patched display_name: %s; secret kept: %v", r.raw, storedSecret(t, h, "okta") == "okta-s3cret-value")
	}
	h.must(200, "PATCH", "/connections/okta", key, map[string]any{"client_secret": "okta-rotated-value"})
	if got := storedSecret(t, h, "okta"); got != "okta-rotated-value" {
		t.Errorf("secret after its patch: %q", got)
	}
	if r := h.do("PATCH", "/connections/okta", key, map[string]any{"issuer": "ftp://x", "tenant": "spa"}); r.status != 422 ||
		!slices.Contains(r.problemFields(), "issuer") || !slices.Contains(r.problemFields(), "tenant") {
		t.Errorf("bad patch: %d %s, want 422 naming issuer and tenant", r.status, r.raw)
	}
	if r := h.do("PATCH", "/connections/corp", key, map[string]any{"display_name": "x"}); r.status != 409 {
		t.Errorf("patch of config.toml's provider: %d, want 409", r.status)
	}
	if r := h.do("DELETE", "/connections/okta", key, nil); r.status != 409 || !strings.Contains(r.raw, "spa") {
		t.Errorf("delete of a connection a tenant uses: %d %s, want 409 naming the tenant", r.status, r.raw)
	}
	h.must(200, "PATCH", "/tenants/spa", key, map[string]any{"providers": []string{"corp"}})
	h.must(204, "DELETE", "/connections/okta", key, nil)
	if r := h.do("GET", "/connections/okta", key, nil); r.status != 404 {
		t.Errorf("deleted connection: %d, want 404", r.status)
	}
	if _, loc := loginGoesTo(t, h, "spa", "okta"); strings.HasPrefix(loc, okta.URL()) {
		t.Error("a deleted connection still signs in")
	}
	h.noSecrets(key, "okta-s3cret-value", "okta-rotated-value", "corp-secret")
}

func TestConnectionBadInput(t *testing.T) {
	h := newHarness(t, privateNets)
	key := h.key("", "admin")
	good := func() map[string]any {
		return map[string]any{"id": "idp", "type": "oidc", "issuer": "https://idp.example", "client_id": "c", "client_secret": "shh-secret-123"}
	}
	with := func(k string, v any) map[string]any {
		b := good()
		if v == nil {
			delete(b, k)
		} else {
			b[k] = v
		}
		return b
	}
	for _, tc := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"unknown type", with("type", "saml"), "type"},
		{"no client_id", with("client_id", nil), "client_id"},
		{"no issuer", with("issuer", nil), "issuer"},
		{"bad id", with("id", "Bad Name"), "id"},
		{"unknown key", with("colour", "red"), "colour"},
		{"key of another type", with("team_id", "T"), "team_id"},
		{"microsoft's tenant on oidc", with("microsoft_tenant", "common"), "microsoft_tenant"},
		{"issuer not a URL", with("issuer", "ftp://idp.example"), "issuer"},
		{"unknown owner", with("tenant", "nobody"), "tenant"},
		{"secret not a string", with("client_secret", 42), "client_secret"},
	} {
		r := h.do("POST", "/connections", key, tc.body)
		if r.status != 422 || !slices.Contains(r.problemFields(), tc.field) {
			t.Errorf("%s: %d %s, want 422 with a problem at %s", tc.name, r.status, r.raw, tc.field)
		}
	}
	if r := h.do("POST", "/connections", key, with("id", "corp")); r.status != 409 {
		t.Errorf("config.toml provider's name: %d, want 409", r.status)
	}
	// Microsoft's directory is written microsoft_tenant, since "tenant"
	// is the owner.
	r := h.must(201, "POST", "/connections", key, map[string]any{"id": "entra", "type": "microsoft", "client_id": "c",
		"client_secret": "shh-secret-456", "microsoft_tenant": "organizations", "allowed_tenants": []string{"*"}})
	if r.str("microsoft_tenant") != "organizations" || r.str("tenant") != "" {
		t.Errorf("microsoft connection: %s", r.raw)
	}
	h.noSecrets(key, "shh-secret-123", "shh-secret-456")
}

func TestConnectionURLsGuarded(t *testing.T) {
	h := newHarness(t, "") // private networks refused
	key := h.key("", "admin")
	for _, issuer := range []string{"https://169.254.169.254/", "https://127.0.0.1/", "https://[::1]/", "http://idp.example"} {
		r := h.do("POST", "/connections", key, map[string]any{"id": "idp", "type": "oidc", "issuer": issuer, "client_id": "c"})
		if r.status != 422 || !slices.Contains(r.problemFields(), "issuer") {
			t.Errorf("issuer %s: %d %s, want 422 naming issuer", issuer, r.status, r.raw)
		}
	}
	r := h.do("POST", "/connections", key, map[string]any{"id": "gen", "type": "oauth2", "client_id": "c", "client_secret": "s",
		"authorize_url": "https://9.9.9.9/authorize", "token_url": "https://10.0.0.8/token", "userinfo_url": "https://9.9.9.9/me",
		"claims": map[string]any{"subject": "id"}})
	if r.status != 422 || !slices.Equal(r.problemFields(), []string{"token_url"}) {
		t.Errorf("a token_url into 10/8: %d %s, want 422 naming token_url alone", r.status, r.raw)
	}
}

func TestOwnedConnections(t *testing.T) {
	h := newHarness(t, privateNets)
	key := h.key("", "admin")
	for _, id := range []string{"a", "b"} {
		h.must(201, "POST", "/tenants", key, map[string]any{"id": id, "redirect_uris": []string{"https://" + id + ".example/cb"}, "providers": []string{"corp"}})
	}
	h.must(201, "POST", "/connections", key, map[string]any{"id": "a-idp", "type": "oidc", "issuer": "https://idp.a.example", "client_id": "c", "tenant": "a"})
	h.must(200, "PATCH", "/tenants/a", key, map[string]any{"providers": []string{"corp", "a-idp"}})
	// To tenant b, a's connection does not exist.
	if r := h.do("PATCH", "/tenants/b", key, map[string]any{"providers": []string{"a-idp"}}); r.status != 422 || !slices.Contains(r.problemFields(), "providers[0]") {
		t.Errorf("b naming a's connection: %d %s, want 422 at providers[0]", r.status, r.raw)
	}
	keyA, keyB := h.key("a", "connections:read", "connections:write"), h.key("b", "connections:read", "connections:write")
	h.must(200, "GET", "/connections/a-idp", keyA, nil)
	for _, m := range []string{"GET", "DELETE"} {
		if r := h.do(m, "/connections/a-idp", keyB, nil); r.status != 404 {
			t.Errorf("%s of a's connection with b's key: %d, want 404", m, r.status)
		}
	}
	if r := h.do("PATCH", "/connections/a-idp", keyB, map[string]any{"display_name": "x"}); r.status != 404 {
		t.Errorf("PATCH of a's connection with b's key: %d, want 404", r.status)
	}
	if items := h.must(200, "GET", "/connections", keyB, nil).items(); len(items) != 0 {
		t.Errorf("b's key lists %v, want nothing (not even config.toml's shared providers)", items)
	}
	// b's key makes b's connections, whatever it says.
	if r := h.do("POST", "/connections", keyB, map[string]any{"id": "x", "type": "oidc", "issuer": "https://x.example", "client_id": "c", "tenant": "a"}); r.status != 403 {
		t.Errorf("b's key making a's connection: %d, want 403", r.status)
	}
	r := h.must(201, "POST", "/connections", keyB, map[string]any{"id": "b-idp", "type": "oidc", "issuer": "https://idp.b.example", "client_id": "c"})
	if r.str("tenant") != "b" {
		t.Errorf("b's key's connection: owner %q, want b", r.str("tenant"))
	}
	// Deleting a takes its own connection with it.
	h.must(204, "DELETE", "/tenants/a", key, nil)
	if r := h.do("GET", "/connections/a-idp", key, nil); r.status != 404 {
		t.Errorf("a's connection after a's deletion: %d, want 404", r.status)
	}
}
