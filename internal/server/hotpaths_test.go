package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/socialbroker/broker/internal/config"
	"github.com/socialbroker/broker/internal/server/servertest"
	"github.com/socialbroker/broker/internal/tenants"
	"github.com/socialbroker/broker/storage"
	"github.com/socialbroker/broker/storage/postgres"
	"github.com/socialbroker/broker/storage/postgres/pgtest"
)

// TestHotPathsReadNoTenant (issue 16): with tenants created at runtime,
// a token check asks the database nothing and a refresh reads no tenant:
// both find the tenant in the registry the change feed keeps, whatever
// the number of tenants. Everything a request sends PostgreSQL is
// counted on the wire; the background chores' statements (the change
// feed's poll among them) are not a request's.
func TestHotPathsReadNoTenant(t *testing.T) {
	dsn := pgtest.DSN(t)
	wire := pgtest.NewWire(t, dsn)
	h := servertest.Start(t, servertest.Options{DB: wire.DSN(), TOML: servertest.NoLimits})

	// A runtime tenant, stored as the admin API stores one, by another
	// store on the same database (as another replica would).
	other, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tn := &config.Tenant{ID: "rt-1", Name: "Runtime", RedirectURIs: []string{servertest.AppRedirect}, Providers: []string{"google"}}
	if ps := config.ValidateTenant(tn, h.Cfg.Issuer, func(p string) bool { return p == "google" }); len(ps) > 0 {
		t.Fatal(ps)
	}
	doc, err := tenants.TenantDoc(tn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.CreateRecord(t.Context(), storage.Record{Kind: storage.KindTenant, ID: tn.ID, Doc: doc, CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	waitTenant(t, h, tn.ID)
	mark := wire.Mark()
	tr := h.SignIn("google", tn.ID, servertest.Alice)
	waitAudit(t, dsn, 1) // the sign-in's event, written off its path

	mark = wire.Mark()
	for range 20 {
		if status, _ := h.GetBearer("/auth/check", tr.AccessToken, nil); status != http.StatusOK {
			t.Fatalf("/auth/check: %d", status)
		}
	}
	if got := requestTrips(wire.Since(mark)); len(got) > 0 {
		t.Errorf("20 token checks sent PostgreSQL %d round trips, want none:\n  %s", len(got), strings.Join(got, "\n  "))
	}

	mark = wire.Mark()
	next, status := h.RefreshGrant(tn.ID, tr.RefreshToken)
	if status != http.StatusOK || next.RefreshToken == "" {
		t.Fatalf("refresh: %d", status)
	}
	got := requestTrips(wire.Since(mark))
	if len(got) == 0 {
		t.Fatal("a refresh sent PostgreSQL nothing: the count misses it")
	}
	for _, sql := range got {
		if strings.Contains(sql, "records") || strings.Contains(sql, "admin_keys") {
			t.Errorf("a refresh read tenant data: %s", sql)
		}
	}
}

// requestTrips are the trips that are neither a chore's nor only the
// preparation of statements, as SQL on one line each.
func requestTrips(trips []pgtest.Trip) []string {
	var out []string
	for _, tr := range trips {
		if chore(tr) || prepareOnly(tr) {
			continue
		}
		var sql []string
		for _, st := range tr.Statements {
			sql = append(sql, strings.Join(strings.Fields(st), " "))
		}
		out = append(out, strings.Join(sql, " + "))
	}
	return out
}

// waitTenant waits until the broker knows tenant id: its sign-in starts.
func waitTenant(t *testing.T, h *servertest.Harness, id string) {
	t.Helper()
	q := url.Values{"response_type": {"code"}, "client_id": {id}, "redirect_uri": {servertest.AppRedirect},
		"code_challenge": {servertest.NewPKCE().Challenge}, "code_challenge_method": {"S256"}, "scope": {"openid"}}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		resp, err := noRedirect.Get(h.Issuer + "/auth/google/login?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusFound {
			return
		}
	}
	t.Fatalf("tenant %s unknown to the broker 10s after it was stored", id)
}
