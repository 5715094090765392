//go:build unix

package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/socialbroker/broker/internal/browsertest"
	"github.com/socialbroker/broker/internal/demo"
	"github.com/socialbroker/broker/internal/domains/dnstest"
	"github.com/socialbroker/broker/internal/server/servertest"
	"github.com/socialbroker/broker/providers/providertest"
)

// The people of the browser test: Alice operates the broker; Bob signs
// in to the console too but is no operator; Carol is a user of the new
// tenant, signing in through her company's own identity provider. Alice
// and Bob are Google Workspace users (hd), whose addresses Google vouches
// for.
var (
	alice = providertest.User{Subject: "1001", Name: "Alice Operator", Email: "alice@ops.test", EmailVerified: true, HostedDomain: "ops.test"}
	bob   = providertest.User{Subject: "1002", Name: "Bob Outsider", Email: "bob@ops.test", EmailVerified: true, HostedDomain: "ops.test"}
	carol = providertest.User{Subject: "2001", Name: "Carol Customer", Email: "carol@acme.test", EmailVerified: true}
)

// TestConsoleInBrowser drives the console in Debian's Chromium
// (playwright-core, browser/console.test.mjs) against a real broker with
// a fake Google for operators, a fake company IdP for the connection the
// operator creates, and a test DNS server for domain verification. The
// screenshots land in browser/test-results/.
//
// With CI=true a missing Node, npm or Chromium fails the test; elsewhere
// it skips with a message. -short skips it.
func TestConsoleInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: browser tests skipped")
	}
	const suite = "the console's browser tests"
	browsertest.RequireNode(t, suite)
	chromium := browsertest.Chromium(t, suite)
	ctx, cancel := context.WithTimeout(t.Context(), 8*time.Minute)
	defer cancel()
	if _, err := os.Stat(filepath.Join("browser", "node_modules", ".package-lock.json")); err != nil {
		run(ctx, t, nil, "ci", "--no-audit", "--no-fund")
	}

	dns := dnstest.Start(t)
	google := providertest.NewOIDC(providertest.OIDCOptions{Title: "Google", ClientID: "g-client", ClientSecret: "g-secret", Users: []providertest.User{alice, bob}})
	t.Cleanup(google.Close)
	acme := providertest.NewOIDC(providertest.OIDCOptions{Title: "Acme SSO", ClientID: "acme-client", ClientSecret: "acme-secret", Users: []providertest.User{carol}})
	t.Cleanup(acme.Close)
	control := startControl(t, dns)

	db := "sqlite:" + filepath.Join(t.TempDir(), "broker.db")
	h := servertest.StartConfig(t, func(issuer string) string {
		return fmt.Sprintf(`
issuer = %q
shutdown_delay = "0s"
secrets_key = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="
[database]
url = %q
[admin]
console_admins = ["alice@ops.test"]
allow_private_networks = true # the fake upstreams listen on loopback
dns_resolver = %q
[providers.google]
client_id = "g-client"
client_secret = "g-secret"
issuer = %q
[[tenants]]
id = "intranet"
name = "Intranet"
redirect_uris = ["https://intranet.example/callback"]
providers = ["google"]
`, issuer, db, dns.Addr, google.URL())
	})
	// `broker demo` too: its page leads to the console, Alice's.
	demoCtx, stopDemo := context.WithCancel(context.Background())
	d, err := demo.Start(demoCtx, "127.0.0.1:0", slog.New(slog.DiscardHandler), demo.Options{})
	if err != nil {
		stopDemo()
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() { d.Serve(demoCtx); close(served) }()
	t.Cleanup(func() { stopDemo(); <-served; d.Close() })

	run(ctx, t, []string{
		"DEMO_URL=" + d.URL,
		"BROKER_URL=" + h.Issuer, "CONTROL_URL=" + control, "CHROMIUM_PATH=" + chromium,
		"ACME_ISSUER=" + acme.URL(), "ACME_CLIENT_ID=acme-client", "ACME_CLIENT_SECRET=acme-secret",
	}, "test", "--silent")
}

// startControl serves what the browser test needs beside the broker: a
// way to publish a TXT record in the test DNS server, once the console
// has shown which, and the new tenant's redirect URI.
func startControl(t *testing.T, dns *dnstest.Server) string {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /dns", func(w http.ResponseWriter, r *http.Request) {
		var rec struct{ Name, Value string }
		if err := json.NewDecoder(r.Body).Decode(&rec); err != nil || rec.Name == "" || rec.Value == "" {
			http.Error(w, "want {name, value}", http.StatusBadRequest)
			return
		}
		dns.AddTXT(rec.Name, rec.Value)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /app/callback", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><html lang="en"><title>Shop</title><h1>Shop: back from the broker</h1></html>`)
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return "http://" + l.Addr().String()
}

// run runs npm in browser/ and logs the test runner's totals and where
// the screenshots went.
func run(ctx context.Context, t *testing.T, env []string, args ...string) {
	t.Helper()
	out := browsertest.NPM(ctx, t, "browser", env, args...)
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "# pass ") || strings.HasPrefix(line, "# fail ") || strings.HasPrefix(line, "# screenshots ") {
			t.Log(strings.TrimPrefix(line, "# "))
		}
	}
}
