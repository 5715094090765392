// Package demo assembles `broker demo`: the real broker, wired to FAKE
// Google and GitHub upstreams (package providertest) running in-process,
// a demo tenant, a temporary SQLite database, and a small page that signs
// in and shows what an app receives. Nothing here is for production.
package demo

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/socialbroker/broker/internal/config"
	"github.com/socialbroker/broker/internal/httpx"
	"github.com/socialbroker/broker/internal/server"
	"github.com/socialbroker/broker/providers/providertest"
)

//go:embed assets
var assets embed.FS

// TenantID is the demo app's client_id.
const TenantID = "demo"

// The tenants of the example app in clients/js/example: the same app
// registered twice, once per refresh token delivery.
const (
	ExampleTenantID       = "example"        // refresh tokens in the token response
	ExampleCookieTenantID = "example-cookie" // refresh tokens only in an HttpOnly cookie
)

// Options tune the demo; the zero value is the default demo.
type Options struct {
	// AccessTTL is the access tokens' lifetime; 2m when zero. A few
	// seconds lets one watch refreshes happen.
	AccessTTL time.Duration
	// ExampleOrigin is where clients/js/example is served; when empty,
	// port 5173 on the demo's own host (Vite's default port).
	ExampleOrigin string
}

// Users are the people the fake upstreams let you sign in as. Alice has a
// private GitHub email (only /user/emails reveals it) and is in the acme
// organisation; her verified Google and GitHub emails link to one account.
var Users = []providertest.User{
	{Subject: "1001", Login: "alice", Name: "Alice Admin", Email: "alice@acme.test", EmailVerified: true, Orgs: []string{"acme"}, HostedDomain: "acme.test"},
	{Subject: "1002", Login: "bob", Name: "Bob Viewer", Email: "bob@example.test", EmailVerified: true},
	{Subject: "1003", Login: "mallory", Name: "Mallory Unverified", Email: "alice@acme.test", EmailVerified: false},
}

// Demo is a running demo: fake upstreams, broker, temporary database.
type Demo struct {
	Google *providertest.OIDC
	GitHub *providertest.GitHub
	Server *server.Server
	URL    string // where to open the demo page
	// ExampleOrigin is the origin the example app's tenants accept.
	ExampleOrigin string
	listener      net.Listener
	dir           string
}

// Start starts the fakes and a broker listening on listen (host:port;
// port 0 picks a free one).
func Start(ctx context.Context, listen string, log *slog.Logger, opts Options) (*Demo, error) {
	l, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("demo: listen on %s: %w", listen, err)
	}
	issuer := "http://" + l.Addr().String()
	d := &Demo{listener: l, URL: issuer + "/demo/", ExampleOrigin: strings.TrimRight(opts.ExampleOrigin, "/")}
	if d.ExampleOrigin == "" {
		// The same host as the broker: the cookie tenant needs the app on
		// the broker's site (SameSite cookies), and ports do not count.
		d.ExampleOrigin = "http://" + net.JoinHostPort(l.Addr().(*net.TCPAddr).IP.String(), "5173")
	}
	if opts.AccessTTL <= 0 {
		opts.AccessTTL = 2 * time.Minute
	}
	d.Google = providertest.NewOIDC(providertest.OIDCOptions{
		Title: "Google", ClientID: "demo-google-client", ClientSecret: "demo-google-secret",
		RedirectURIs: []string{issuer + "/auth/google/callback"}, Users: Users,
	})
	d.GitHub = providertest.NewGitHub(providertest.GitHubOptions{
		ClientID: "demo-github-client", ClientSecret: "demo-github-secret",
		RedirectURIs: []string{issuer + "/auth/github/callback"}, Users: Users,
	})
	if d.dir, err = os.MkdirTemp("", "broker-demo-"); err != nil {
		d.Close()
		return nil, err
	}
	cfg, err := config.Parse([]byte(d.config(issuer, opts.AccessTTL)), os.Getenv)
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("demo: config: %w", err)
	}
	d.Server, err = server.New(ctx, cfg, server.Options{Logger: log, Mount: mountPage})
	if err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

func (d *Demo) config(issuer string, accessTTL time.Duration) string {
	return fmt.Sprintf(`
issuer = %q
shutdown_delay = "0s" # no load balancer to wait for: Ctrl+C stops at once
[database]
url = %q
[tokens]
access_ttl = %q
[providers.google]
client_id = "demo-google-client"
client_secret = "demo-google-secret"
issuer = %q
[providers.github]
client_id = "demo-github-client"
client_secret = "demo-github-secret"
base_url = %q
api_url = %q
`, issuer, "sqlite:"+filepath.Join(d.dir, "broker.db"), accessTTL.String(), d.Google.URL(), d.GitHub.BaseURL(), d.GitHub.APIURL()) +
		tenant(TenantID, "Broker Demo", issuer+"/demo/callback", issuer+"/demo/", issuer, "") +
		tenant(ExampleTenantID, "Example Admin", d.ExampleOrigin+"/callback", d.ExampleOrigin+"/login", d.ExampleOrigin, "body") +
		tenant(ExampleCookieTenantID, "Example Admin (cookie mode)", d.ExampleOrigin+"/callback", d.ExampleOrigin+"/login", d.ExampleOrigin, "cookie")
}

// tenant is one [[tenants]] entry with the demo's roles.
func tenant(id, name, redirect, postLogout, origin, delivery string) string {
	s := fmt.Sprintf(`
[[tenants]]
id = %q
name = %q
redirect_uris = [%q]
post_logout_redirect_uris = [%q]
allowed_origins = [%q]
providers = ["google", "github"]
`, id, name, redirect, postLogout, origin)
	if delivery != "" {
		s += fmt.Sprintf("refresh_token_delivery = %q\n", delivery)
	}
	return s + `[[tenants.roles]]
role = "admin"
emails = ["alice@acme.test"]
github_orgs = ["acme"]
permissions = ["users:write", "reports:read"]
[[tenants.roles]]
role = "viewer"
everyone = true
permissions = ["reports:read"]
`
}

// Serve serves until ctx ends.
func (d *Demo) Serve(ctx context.Context) error { return d.Server.Serve(ctx, d.listener) }

// Close stops the fakes and removes the temporary database.
func (d *Demo) Close() {
	if d.Server != nil {
		d.Server.Close()
	}
	d.Google.Close()
	d.GitHub.Close()
	d.listener.Close()
	if d.dir != "" {
		os.RemoveAll(d.dir)
	}
}

// mountPage serves the demo app at /demo/ (its callback too: /demo/callback).
func mountPage(e *echo.Echo) {
	sub, _ := fs.Sub(assets, "assets")
	page := func(c echo.Context) error {
		httpx.SetPageHeaders(c.Response().Header())
		b, err := fs.ReadFile(sub, "index.html")
		if err != nil {
			return err
		}
		return c.HTMLBlob(http.StatusOK, b)
	}
	e.GET("/", func(c echo.Context) error { return c.Redirect(http.StatusFound, "/demo/") })
	e.GET("/demo/", page)
	e.GET("/demo/callback", page)
	e.StaticFS("/demo/static", sub)
}
