// Package demo assembles `broker demo`: the real broker, wired to FAKE
// upstreams of every provider type (package providertest: Google, GitHub,
// Microsoft, Apple, GitLab, Discord, Facebook, LinkedIn, Slack) running
// in-process,
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
	{Subject: "1001", Login: "alice", Name: "Alice Admin", Email: "alice@acme.test", EmailVerified: true, Orgs: []string{"acme"}, HostedDomain: "acme.test",
		TenantID: DemoDirectory, ObjectID: "00000000-0000-4000-8000-000000001001", DomainVerified: true, Groups: []string{"acme", "acme/admins"}},
	{Subject: "1002", Login: "bob", Name: "Bob Viewer", Email: "bob@example.test", EmailVerified: true,
		TenantID: providertest.MicrosoftConsumersTenant, ObjectID: "00000000-0000-4000-8000-000000001002"},
	{Subject: "1003", Login: "mallory", Name: "Mallory Unverified", Email: "alice@acme.test", EmailVerified: false,
		TenantID: DemoDirectory, ObjectID: "00000000-0000-4000-8000-000000001003"},
}

// DemoDirectory is the fake Microsoft Entra directory the demo allows.
const DemoDirectory = "0de30de3-0000-4000-8000-000000000000"

// fakeProvider is one more provider type in the demo: its fake and the
// config section that points the broker at it.
type fakeProvider struct {
	name  string
	close func()
	toml  string
}

// Demo is a running demo: fake upstreams, broker, temporary database.
type Demo struct {
	Google *providertest.OIDC
	GitHub *providertest.GitHub
	// More are the fakes of the other provider types.
	More   []fakeProvider
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
[database]
url = %q
[tokens]
access_ttl = %q
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
`, issuer, "sqlite:"+filepath.Join(d.dir, "broker.db"), accessTTL.String(), d.Google.URL(), d.GitHub.BaseURL(), d.GitHub.APIURL()) +
		d.moreTOML() +
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
providers = ["google", "github", %s]
`, id, name, redirect, postLogout, origin, moreNames)
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
	for _, f := range d.More {
		f.close()
	}
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

// moreNames lists the other fakes' provider names for the tenants.
const moreNames = `"microsoft", "apple", "gitlab", "discord", "facebook", "linkedin", "slack"`

// moreFakes starts a fake of every other provider type, each registered
// for its callback on issuer. Their buttons say "(fake)".
func moreFakes(issuer string) []fakeProvider {
	cb := func(name string) []string { return []string{issuer + "/auth/" + name + "/callback"} }
	section := func(name, label, body string) string {
		return fmt.Sprintf("[providers.%s]\nclient_id = \"demo-%s-client\"\ndisplay_name = %q\n%s\n", name, name, label+" (fake)", body)
	}
	opts := func(name string) providertest.OIDCOptions {
		return providertest.OIDCOptions{ClientID: "demo-" + name + "-client", ClientSecret: "demo-" + name + "-secret", RedirectURIs: cb(name), Users: Users}
	}
	o2 := func(name string) providertest.OAuth2Options {
		return providertest.OAuth2Options{ClientID: "demo-" + name + "-client", ClientSecret: "demo-" + name + "-secret", RedirectURIs: cb(name), Users: Users}
	}
	secret := func(name string) string { return fmt.Sprintf("client_secret = \"demo-%s-secret\"\n", name) }
	ms := providertest.NewMicrosoft(opts("microsoft"))
	apple := providertest.NewApple(providertest.AppleOptions{ClientID: "demo-apple-client", RedirectURIs: cb("apple"), Users: Users})
	gitlab := providertest.NewGitLab(opts("gitlab"))
	linkedin := providertest.NewLinkedIn(opts("linkedin"))
	slack := providertest.NewSlack(opts("slack"))
	discord := providertest.NewDiscord(o2("discord"))
	facebook := providertest.NewFacebook(o2("facebook"))
	return []fakeProvider{
		{"microsoft", ms.Close, section("microsoft", "Microsoft", secret("microsoft")+
			fmt.Sprintf("authority = %q\nallowed_tenants = [%q, %q]", ms.BaseURL(), DemoDirectory, providertest.MicrosoftConsumersTenant))},
		{"apple", apple.Close, section("apple", "Apple",
			fmt.Sprintf("team_id = %q\nkey_id = %q\nissuer = %q\nprivate_key = '''\n%s'''", apple.TeamID(), apple.KeyID(), apple.URL(), apple.PrivateKeyPEM()))},
		{"gitlab", gitlab.Close, section("gitlab", "GitLab", secret("gitlab")+fmt.Sprintf("base_url = %q", gitlab.URL()))},
		{"discord", discord.Close, section("discord", "Discord", secret("discord")+fmt.Sprintf("base_url = %q", discord.BaseURL()))},
		{"facebook", facebook.Close, section("facebook", "Facebook", secret("facebook")+fmt.Sprintf("base_url = %q", facebook.BaseURL()))},
		{"linkedin", linkedin.Close, section("linkedin", "LinkedIn", secret("linkedin")+fmt.Sprintf("issuer = %q", linkedin.URL()))},
		{"slack", slack.Close, section("slack", "Slack", secret("slack")+fmt.Sprintf("issuer = %q", slack.URL()))},
	}
}

func (d *Demo) moreTOML() string {
	var b strings.Builder
	for _, f := range d.More {
		b.WriteString(f.toml)
	}
	return b.String()
}
