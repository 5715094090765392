package admin_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/socialbroker/broker/internal/admin"
	"github.com/socialbroker/broker/internal/config"
	"github.com/socialbroker/broker/internal/tenants"
	"github.com/socialbroker/broker/storage"
	"github.com/socialbroker/broker/storage/sqlite"
)

// TestEnsureConsoleTenant: the console's tenant follows config.toml at
// each start (its URLs, every provider, console_admins), keeps what the
// API added, and is not rewritten when nothing changed.
func TestEnsureConsoleTenant(t *testing.T) {
	ctx := t.Context()
	s, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "b.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	cfgWith := func(issuer, admins string, providers ...string) *config.Config {
		toml := fmt.Sprintf("issuer = %q\n[admin]\nconsole_admins = %s\n", issuer, admins)
		for _, p := range providers {
			toml += fmt.Sprintf("[providers.%s]\ntype = \"oidc\"\nissuer = \"https://%s.example\"\nclient_id = \"c\"\nclient_secret = \"s\"\n", p, p)
		}
		toml += "[[tenants]]\nid = \"app\"\nredirect_uris = [\"https://app.example/cb\"]\nproviders = [\"" + providers[0] + "\"]\n"
		c, err := config.Parse([]byte(toml), func(string) string { return "" })
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	load := func() (*config.Tenant, storage.Record) {
		t.Helper()
		rec, err := s.GetRecord(ctx, storage.KindTenant, config.ConsoleTenantID)
		if err != nil {
			t.Fatal(err)
		}
		ct, err := tenants.TenantFromRecord(rec)
		if err != nil {
			t.Fatal(err)
		}
		return ct, rec
	}

	if err := admin.EnsureConsoleTenant(ctx, s, cfgWith("https://id.example", `["a@acme.example"]`, "corp", "b2b"), timeNow()); err != nil {
		t.Fatal(err)
	}
	ct, rec := load()
	if !slices.Equal(ct.RedirectURIs, []string{"https://id.example/admin/callback"}) || !slices.Equal(ct.Providers, []string{"b2b", "corp"}) ||
		!slices.Equal(ct.AllowedOrigins, []string{"https://id.example"}) || len(ct.Roles) != 1 || ct.Roles[0].Role != config.DefaultConsoleRole ||
		!slices.Equal(ct.Roles[0].Emails, []string{"a@acme.example"}) || !ct.CookieDelivery() {
		t.Fatalf("console tenant = %+v", ct)
	}

	// Unchanged: not rewritten.
	if err := admin.EnsureConsoleTenant(ctx, s, cfgWith("https://id.example", `["a@acme.example"]`, "corp", "b2b"), timeNow()); err != nil {
		t.Fatal(err)
	}
	if _, again := load(); again.Seq != rec.Seq {
		t.Errorf("an unchanged console tenant was rewritten (seq %d -> %d)", rec.Seq, again.Seq)
	}

	// The API adds an email and a rule; config.toml then drops b2b and
	// adds an admin: both kept, b2b gone.
	ct.Roles[0].Emails = append(ct.Roles[0].Emails, "api@acme.example")
	ct.Roles = append(ct.Roles, config.Role{Role: "auditor", Emails: []string{"x@acme.example"}})
	doc, err := tenants.TenantDoc(ct)
	if err != nil {
		t.Fatal(err)
	}
	rec.Doc = doc
	if _, err := s.UpdateRecord(ctx, rec, rec.Seq); err != nil {
		t.Fatal(err)
	}
	// The issuer moves too: the console's URLs follow, none left behind.
	if err := admin.EnsureConsoleTenant(ctx, s, cfgWith("https://login.example", `["a@acme.example", "b@acme.example"]`, "corp"), timeNow()); err != nil {
		t.Fatal(err)
	}
	ct, _ = load()
	if !slices.Equal(ct.RedirectURIs, []string{"https://login.example/admin/callback"}) || !slices.Equal(ct.AllowedOrigins, []string{"https://login.example"}) {
		t.Errorf("after the issuer changed: redirect_uris %v, allowed_origins %v", ct.RedirectURIs, ct.AllowedOrigins)
	}
	if !slices.Equal(ct.Providers, []string{"corp"}) || len(ct.Roles) != 2 ||
		!slices.Equal(ct.Roles[0].Emails, []string{"a@acme.example", "api@acme.example", "b@acme.example"}) {
		t.Errorf("after a restart: %+v", ct)
	}
}
