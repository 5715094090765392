// Package demo assembles `broker demo`: the real broker, wired to FAKE
// upstreams of every provider type (package providertest: Google, GitHub,
// Microsoft, Apple, GitLab, Discord, Facebook, LinkedIn, Slack) running
// in-process,
// a demo tenant, a temporary SQLite database, and a small page that signs
// in and shows what an app receives. Nothing here is for production.
package demo

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/base64"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
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
// registered twice, once per refresh token delivery, and a second app (a
// copy served on another origin) to try single sign-on between two apps.
const (
	ExampleTenantID       = "example"        // refresh tokens in the token response
	ExampleCookieTenantID = "example-cookie" // refresh tokens only in an HttpOnly cookie
	ExampleBTenantID      = "example-b"      // a second app, on ExampleOriginB
)

// ExampleBackchannelPath is where the example app's API receives
// back-channel logout tokens (clients/js/example/api.mjs).
const ExampleBackchannelPath = "/api/backchannel-logout"

// Options tune the demo; the zero value is the default demo.
type Options struct {
	// AccessTTL is the access tokens' lifetime; 2m when zero. A few
	// seconds lets one watch refreshes happen.
	AccessTTL time.Duration
	// ExampleOrigin is where clients/js/example is served; when empty,
	// port 5173 on the demo's own host (Vite's default port).
	ExampleOrigin string
	// ExampleOriginB is where a second copy of it is served as another
	// app (tenant example-b); when empty, port 5174 on the demo's host.
	ExampleOriginB string
	// PublicURL is the demo's origin as browsers open it, when it is not
	// the listen address: http://localhost:9000 for a container port 8080
	// published as 9000, or an https tunnel's address. When empty: the
	// host of listen as written, "localhost" for 0.0.0.0 or [::], with the
	// port listened on.
	PublicURL string
}

// Users are the people the fake upstreams let you sign in as. Alice has a
// private GitHub email (only /user/emails reveals it) and is in the acme
// organisation; her verified Google and GitHub emails link to one account.
var Users = []providertest.User{
	{Subject: "1001", Login: "alice", Name: "Alice Admin", Email: "alice@acme.test", EmailVerified: true, Orgs: []string{"acme"}, HostedDomain: "acme.test",
		TenantID: DemoDirectory, ObjectID: "00000000-0000-4000-8000-000000001001", DomainVerified: true, Groups: []string{"acme", "acme/admins"}},
	{Subject: "1002", Login: "bob", Name: "Bob Viewer", Email: "bob@example.test", EmailVerified: true,
		TenantID: providertest.MicrosoftConsumersTenant, ObjectID: "00000000-0000-4000-8000-000000001002"},
	{Subject: "1003", Login: "mallory", Name: "Mallory Unverified", Email: "alice@acme.test", EmailVerified: false,
		TenantID: DemoDirectory, ObjectID: "00000000-0000-4000-8000-000000001003"},
}

// ConsoleAdmin is the demo user who may use the admin console.
const ConsoleAdmin = "alice@acme.test"

// secretsKey is a random secrets_key, which connections made in the
// console need.
func secretsKey() string {
	k := make([]byte, config.SecretsKeySize)
	_, _ = rand.Read(k) // crypto/rand.Read never fails (Go 1.24+)
	return base64.StdEncoding.EncodeToString(k)
}

// DemoDirectory is the fake Microsoft Entra directory the demo allows.
const DemoDirectory = "0de30de3-0000-4000-8000-000000000000"

// fakeProvider is one more provider type in the demo: its fake and the
// config section that points the broker at it.
type fakeProvider struct {
	name    string
	close   func()
	toml    string
	handler http.Handler // served under fakePath(name)
}

// Demo is a running demo: fake upstreams, broker, temporary database.
type Demo struct {
	Google *providertest.OIDC
	GitHub *providertest.GitHub
	// More are the fakes of the other provider types.
	More   []fakeProvider
	Server *server.Server
	URL    string // where to open the demo page
	// ExampleOrigin is the origin the example app's tenants accept;
	// ExampleOriginB the second app's.
	ExampleOrigin, ExampleOriginB string
	// Listen is the address listened on (0.0.0.0:8080 stays that).
	Listen   string
	listener net.Listener
	public   *url.URL
	dir      string
}

// FakeURLs lists each fake upstream's name and base URL, Google and GitHub
// first.
func (d *Demo) FakeURLs() [][2]string {
	out := [][2]string{{"google", d.public.String() + fakePath("google")}, {"github", d.public.String() + fakePath("github")}}
	for _, f := range d.More {
		out = append(out, [2]string{f.name, d.public.String() + fakePath(f.name)})
	}
	return out
}

// fakePath is where the demo serves a provider's fake, on its own port:
// one forwarded port is all a container or a VM needs.
func fakePath(provider string) string { return "/_fake/" + provider }

// Start starts the fakes and a broker listening on listen (host:port;
// port 0 picks a free one). Its address (Demo.URL) is opts.PublicURL or
// derived from listen (see publicURL): a loopback name, or an https
// tunnel's.
func Start(ctx context.Context, listen string, log *slog.Logger, opts Options) (*Demo, error) {
	// A host the demo cannot be opened as is refused before listening.
	if _, err := publicURL(listen, opts.PublicURL, "0"); err != nil {
		return nil, err
	}
	l, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, fmt.Errorf("demo: listen on %s: %w", listen, err)
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	public, err := publicURL(listen, opts.PublicURL, port)
	if err != nil {
		l.Close()
		return nil, err
	}
	issuer := public.String()
	d := &Demo{listener: l, public: public, Listen: listenAddr(listen, l), URL: issuer + "/demo/",
		ExampleOrigin: strings.TrimRight(opts.ExampleOrigin, "/"), ExampleOriginB: strings.TrimRight(opts.ExampleOriginB, "/")}
	if d.ExampleOrigin == "" {
		// The same host as the broker: the cookie tenant needs the app on
		// the broker's site (SameSite cookies), and ports do not count.
		d.ExampleOrigin = "http://" + net.JoinHostPort(public.Hostname(), "5173")
	}
	if d.ExampleOriginB == "" {
		d.ExampleOriginB = "http://" + net.JoinHostPort(public.Hostname(), "5174")
	}
	if opts.AccessTTL <= 0 {
		opts.AccessTTL = 2 * time.Minute
	}
	d.Google = providertest.NewOIDC(providertest.OIDCOptions{
		Title: "Google", ClientID: "demo-google-client", ClientSecret: "demo-google-secret",
		RedirectURIs: []string{issuer + "/auth/google/callback"}, Users: Users, URL: issuer + fakePath("google"),
	})
	d.GitHub = providertest.NewGitHub(providertest.GitHubOptions{
		ClientID: "demo-github-client", ClientSecret: "demo-github-secret",
		RedirectURIs: []string{issuer + "/auth/github/callback"}, Users: Users, URL: issuer + fakePath("github"),
	})
	d.More = moreFakes(issuer)
	if d.dir, err = os.MkdirTemp("", "broker-demo-"); err != nil {
		d.Close()
		return nil, err
	}
	cfg, err := config.Parse([]byte(d.config(issuer, opts.AccessTTL)), os.Getenv)
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("demo: config: %w", err)
	}
	d.Server, err = server.New(ctx, cfg, server.Options{Logger: log, Mount: d.mount, Transport: newLocalTransport(public, l)})
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
secrets_key = %q # a fresh one per run: the database is temporary too
[database]
url = %q
[tokens]
access_ttl = %q
[admin]
console_admins = [%q] # Alice may use the admin console at /admin/
allow_private_networks = true # the demo's fake upstreams are on this host
[providers.google]
client_id = "demo-google-client"
client_secret = "demo-google-secret"
issuer = %q
display_name = "Google (fake)"
[providers.github]
client_id = "demo-github-client"
client_secret = "demo-github-secret"
base_url = %q
api_url = %q
display_name = "GitHub (fake)"
`, issuer, secretsKey(), "sqlite:"+filepath.Join(d.dir, "broker.db"), accessTTL.String(), ConsoleAdmin, d.Google.URL(), d.GitHub.BaseURL(), d.GitHub.APIURL()) +
		d.moreTOML() +
		tenant(TenantID, "Broker Demo", issuer+"/demo/callback", issuer+"/demo/", issuer, "", "") +
		exampleTenant(ExampleTenantID, "Example Admin", d.ExampleOrigin, "body") +
		exampleTenant(ExampleCookieTenantID, "Example Admin (cookie mode)", d.ExampleOrigin, "cookie") +
		exampleTenant(ExampleBTenantID, "Example Admin B", d.ExampleOriginB, "body")
}

// exampleTenant is a tenant of clients/js/example served at origin
// (https, or http on a loopback host, as for any redirect URI). Its API
// receives the back-channel logouts of its sessions.
func exampleTenant(id, name, origin, delivery string) string {
	extra := fmt.Sprintf("backchannel_logout_uri = %q\n", origin+ExampleBackchannelPath)
	return tenant(id, name, origin+"/callback", origin+"/login", origin, delivery, extra)
}

// tenant is one [[tenants]] entry with the demo's roles; extra is more
// keys of the entry (TOML lines).
func tenant(id, name, redirect, postLogout, origin, delivery, extra string) string {
	s := fmt.Sprintf(`
[[tenants]]
id = %q
name = %q
redirect_uris = [%q]
post_logout_redirect_uris = [%q]
allowed_origins = [%q]
providers = ["google", "github", %s]
`, id, name, redirect, postLogout, origin, moreNames)
	if delivery != "" {
		s += fmt.Sprintf("refresh_token_delivery = %q\n", delivery)
	}
	return s + extra + `[[tenants.roles]]
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
	for _, f := range d.More {
		f.close()
	}
	d.listener.Close()
	if d.dir != "" {
		os.RemoveAll(d.dir)
	}
}

// mount keeps browsers on the demo's address and serves the fakes (before
// routing: they are not the broker's routes, its limits and headers are
// not theirs), then the demo page.
func (d *Demo) mount(e *echo.Echo) {
	fakes := map[string]http.Handler{}
	add := func(provider string, h http.Handler) {
		fakes[fakePath(provider)] = http.StripPrefix(fakePath(provider), h)
	}
	add("google", d.Google.Handler())
	add("github", d.GitHub.Handler())
	for _, f := range d.More {
		add(f.name, f.handler)
	}
	e.Pre(canonicalHost(d.public), func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			for prefix, h := range fakes {
				if strings.HasPrefix(c.Request().URL.Path, prefix+"/") {
					h.ServeHTTP(c.Response(), c.Request())
					return nil
				}
			}
			return next(c)
		}
	})
	mountPage(e)
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

// moreNames lists the other fakes' provider names for the tenants.
const moreNames = `"microsoft", "apple", "gitlab", "discord", "facebook", "linkedin", "slack"`

// moreFakes makes a fake of every other provider type, each registered
// for its callback on issuer and served by the demo under fakePath. Their
// buttons say "(fake)".
func moreFakes(issuer string) []fakeProvider {
	cb := func(name string) []string { return []string{issuer + "/auth/" + name + "/callback"} }
	section := func(name, label, body string) string {
		return fmt.Sprintf("[providers.%s]\nclient_id = \"demo-%s-client\"\ndisplay_name = %q\n%s\n", name, name, label+" (fake)", body)
	}
	opts := func(name string) providertest.OIDCOptions {
		return providertest.OIDCOptions{ClientID: "demo-" + name + "-client", ClientSecret: "demo-" + name + "-secret", RedirectURIs: cb(name), Users: Users,
			URL: issuer + fakePath(name)}
	}
	o2 := func(name string) providertest.OAuth2Options {
		return providertest.OAuth2Options{ClientID: "demo-" + name + "-client", ClientSecret: "demo-" + name + "-secret", RedirectURIs: cb(name), Users: Users,
			URL: issuer + fakePath(name)}
	}
	secret := func(name string) string { return fmt.Sprintf("client_secret = \"demo-%s-secret\"\n", name) }
	ms := providertest.NewMicrosoft(opts("microsoft"))
	apple := providertest.NewApple(providertest.AppleOptions{ClientID: "demo-apple-client", RedirectURIs: cb("apple"), Users: Users,
		URL: issuer + fakePath("apple")})
	gitlab := providertest.NewGitLab(opts("gitlab"))
	linkedin := providertest.NewLinkedIn(opts("linkedin"))
	slack := providertest.NewSlack(opts("slack"))
	discord := providertest.NewDiscord(o2("discord"))
	facebook := providertest.NewFacebook(o2("facebook"))
	return []fakeProvider{
		{"microsoft", ms.Close, section("microsoft", "Microsoft", secret("microsoft")+
			fmt.Sprintf("authority = %q\nallowed_tenants = [%q, %q]", ms.BaseURL(), DemoDirectory, providertest.MicrosoftConsumersTenant)), ms.Handler()},
		{"apple", apple.Close, section("apple", "Apple",
			fmt.Sprintf("team_id = %q\nkey_id = %q\nissuer = %q\nprivate_key = '''\n%s'''", apple.TeamID(), apple.KeyID(), apple.URL(), apple.PrivateKeyPEM())), apple.Handler()},
		{"gitlab", gitlab.Close, section("gitlab", "GitLab", secret("gitlab")+fmt.Sprintf("base_url = %q", gitlab.URL())), gitlab.Handler()},
		{"discord", discord.Close, section("discord", "Discord", secret("discord")+fmt.Sprintf("base_url = %q", discord.BaseURL())), discord.Handler()},
		{"facebook", facebook.Close, section("facebook", "Facebook", secret("facebook")+fmt.Sprintf("base_url = %q", facebook.BaseURL())), facebook.Handler()},
		{"linkedin", linkedin.Close, section("linkedin", "LinkedIn", secret("linkedin")+fmt.Sprintf("issuer = %q", linkedin.URL())), linkedin.Handler()},
		{"slack", slack.Close, section("slack", "Slack", secret("slack")+fmt.Sprintf("issuer = %q", slack.URL())), slack.Handler()},
	}
}

func (d *Demo) moreTOML() string {
	var b strings.Builder
	for _, f := range d.More {
		b.WriteString(f.toml)
	}
	return b.String()
}
