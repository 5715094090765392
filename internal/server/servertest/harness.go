package servertest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/socialbroker/broker/internal/config"
	"github.com/socialbroker/broker/internal/server"
	"github.com/socialbroker/broker/providers/providertest"
)

// AppRedirect is the SPA's registered redirect URI. Nothing listens there:
// the test browser stops at the redirect and reads the code from it.
const AppRedirect = "http://127.0.0.1:5173/callback"

// The harness's users, known to all three fake upstreams.
var (
	// Alice is a Workspace user (hd): Google is the authority for her address.
	Alice = providertest.User{Subject: "1001", Login: "alice", Name: "Alice", Email: "alice@acme.test", EmailVerified: true, Orgs: []string{"acme"}, HostedDomain: "acme.test"}
	Bob   = providertest.User{Subject: "1002", Login: "bob", Name: "Bob", Email: "bob@other.test", EmailVerified: true}
	// Eve claims alice's address but her provider does not vouch for it.
	Eve = providertest.User{Subject: "1003", Login: "eve", Name: "Eve", Email: "alice@acme.test", EmailVerified: false}
)

// Clock is the broker's clock: real time plus an offset tests can push.
type Clock struct {
	mu     sync.Mutex
	offset time.Duration
}

// Now is the clock's time, to pass as server.Options.Now.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

// Advance moves the clock by d (back, when d is negative).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// Harness is a real broker on a real listener, with fake Google, GitHub
// and generic OIDC ("corp", whose ID tokens carry only sub) upstreams.
// Its fields are the test's handles: Issuer is where its requests go (a
// replica's base URL after Via), Logs what the broker logged.
type Harness struct {
	T      *testing.T
	Google *providertest.OIDC
	GitHub *providertest.GitHub
	Corp   *providertest.OIDC
	Issuer string
	Clock  *Clock
	Srv    *server.Server
	Cfg    *config.Config
	Logs   *SyncBuffer

	transport http.RoundTripper // Options.Transport
}

// Options shape a harness beyond its fixed configuration.
type Options struct {
	// TOML is appended to the configuration: more tenants, rate limits.
	TOML string
	// DB is the database URL; a fresh SQLite file when empty.
	DB string
	// Transport, when set, carries every request of the run: the broker's
	// calls upstream (server.Options.Transport) and the requests of the
	// harness and of its browsers, so a test can watch both sides.
	Transport http.RoundTripper
}

// ConfidentialSecret is the client secret of the tenant "server".
const ConfidentialSecret = "s3cret-of-the-server-app-4f9c2a7e1b"

// New starts a harness on a fresh SQLite database with extraTOML appended
// to its configuration.
func New(t *testing.T, extraTOML string) *Harness {
	t.Helper()
	return Start(t, Options{TOML: extraTOML})
}

// Start starts a harness as opts say; it stops when the test ends.
func Start(t *testing.T, opts Options) *Harness {
	t.Helper()
	if opts.DB == "" {
		opts.DB = "sqlite:" + filepath.Join(t.TempDir(), "broker.db")
	}
	h := &Harness{T: t, Clock: &Clock{}, Logs: &SyncBuffer{}, transport: opts.Transport}
	users := []providertest.User{Alice, Bob, Eve}
	h.Google = providertest.NewOIDC(providertest.OIDCOptions{Title: "Google", ClientID: "g-client", ClientSecret: "g-secret", Users: users})
	h.GitHub = providertest.NewGitHub(providertest.GitHubOptions{ClientID: "gh-client", ClientSecret: "gh-secret", Users: users})
	h.Corp = providertest.NewOIDC(providertest.OIDCOptions{Title: "Corp", ClientID: "corp-client", ClientSecret: "corp-secret", Users: users, MinimalIDToken: true, IssuerParameter: true})
	t.Cleanup(h.Google.Close)
	t.Cleanup(h.GitHub.Close)
	t.Cleanup(h.Corp.Close)

	h.start(func(issuer string) string {
		return fmt.Sprintf(`
issuer = %q
upstream_timeout = "1s"
shutdown_delay = "0s"
[database]
url = %q
[tokens]
access_ttl = "5m"
refresh_reuse_grace = "10s"
[providers.google]
client_id = "g-client"
client_secret = "g-secret"
issuer = %q
[providers.github]
client_id = "gh-client"
client_secret = "gh-secret"
base_url = %q
api_url = %q
[providers.corp]
type = "oidc"
issuer = %q
client_id = "corp-client"
client_secret = "corp-secret"
[[tenants]]
id = "spa"
name = "The SPA"
redirect_uris = [%q]
post_logout_redirect_uris = ["http://127.0.0.1:5173/"]
allowed_origins = ["http://127.0.0.1:5173"]
providers = ["google", "github", "corp"]
[[tenants.roles]]
role = "admin"
emails = ["alice@acme.test"]
permissions = ["users:write"]
[[tenants.roles]]
role = "viewer"
everyone = true
permissions = ["reports:read"]
[[tenants]]
id = "orgs"
redirect_uris = [%q]
providers = ["github"]
[tenants.access]
github_orgs = ["acme"]
[[tenants]]
id = "server"
redirect_uris = [%q]
providers = ["google"]
client_secret = %q
%s`, issuer, opts.DB, h.Google.URL(), h.GitHub.BaseURL(), h.GitHub.APIURL(),
			h.Corp.URL(), AppRedirect, AppRedirect, AppRedirect, ConfidentialSecret, opts.TOML)
	})
	return h
}

// StartConfig starts a broker whose whole configuration is toml(issuer),
// for tests with upstreams of their own: Google, GitHub and Corp are nil.
func StartConfig(t *testing.T, toml func(issuer string) string) *Harness {
	t.Helper()
	h := &Harness{T: t, Clock: &Clock{}, Logs: &SyncBuffer{}}
	h.start(toml)
	return h
}

// start serves the configuration toml makes for the address it listens on.
func (h *Harness) start(toml func(issuer string) string) {
	h.T.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		h.T.Fatal(err)
	}
	h.Issuer = "http://" + l.Addr().String()
	cfg, err := config.Parse([]byte(toml(h.Issuer)), func(string) string { return "" })
	if err != nil {
		h.T.Fatalf("config: %v", err)
	}
	h.Cfg = cfg
	h.Srv = h.Serve(cfg, l)
}

// Serve starts a broker on l with cfg and the harness's clock and logs.
func (h *Harness) Serve(cfg *config.Config, l net.Listener) *server.Server {
	h.T.Helper()
	return h.ServeAt(cfg, l, h.Clock.Now)
}

// ServeAt is Serve with a clock of its own.
func (h *Harness) ServeAt(cfg *config.Config, l net.Listener, now func() time.Time) *server.Server {
	h.T.Helper()
	srv, err := server.New(h.T.Context(), cfg, server.Options{Logger: NewLogger(h.Logs), Now: now, Transport: h.transport})
	if err != nil {
		h.T.Fatalf("server.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, l) }()
	h.T.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			h.T.Errorf("Serve: %v", err)
		}
		srv.Close()
	})
	return srv
}

// AddReplica starts another broker sharing the config and database, as a
// second instance behind the same load balancer, and returns its base URL.
// Both answer for the same issuer; tests route a request to a replica by
// swapping h.Issuer for that base URL (or with Via).
func (h *Harness) AddReplica() string {
	h.T.Helper()
	return h.StartReplica(h.Cfg)
}

// StartReplica is AddReplica with a configuration of its own.
func (h *Harness) StartReplica(cfg *config.Config) string {
	h.T.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		h.T.Fatal(err)
	}
	h.Serve(cfg, l)
	return "http://" + l.Addr().String()
}

// Variant starts a second broker on the harness's database and clock,
// with the harness's config changed by edit (for settings extraTOML cannot
// reach, such as top-level keys), and returns a copy of h that talks to it.
func (h *Harness) Variant(edit func(*config.Config)) *Harness {
	h.T.Helper()
	cfg := *h.Cfg
	edit(&cfg)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		h.T.Fatal(err)
	}
	h.Serve(&cfg, l)
	return h.Via("http://" + l.Addr().String())
}

// Via returns a copy of h whose requests go to the replica at base.
func (h *Harness) Via(base string) *Harness {
	c := *h
	c.Issuer = base
	return &c
}

// AppLogout is the SPA's registered post_logout_redirect_uri.
const AppLogout = "http://127.0.0.1:5173/"

// NoLimits turns the rate limits off for tests that make many requests.
const NoLimits = `
[rate_limits]
login_per_ip = "0"
login_per_tenant = "0"
token_per_ip = "0"
token_per_tenant = "0"
refresh_per_ip = "0"
refresh_per_tenant = "0"
`

// AppHome is where error pages about the harness's tenants link back to:
// the origin they registered (config.Tenant.Home).
const AppHome = "http://127.0.0.1:5173/"
