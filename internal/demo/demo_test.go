package demo

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/socialbroker/broker/internal/config"
	"github.com/socialbroker/broker/tokens"
)

// startDemo runs a demo until the test ends.
func startDemo(t *testing.T, listen string, opts Options) *Demo {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d, err := Start(ctx, listen, slog.New(slog.DiscardHandler), opts)
	if err != nil {
		cancel()
		t.Fatalf("Start(%q, %+v): %v", listen, opts, err)
	}
	done := make(chan struct{})
	go func() { d.Serve(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; d.Close() })
	return d
}

// portOf is the port of a host:port.
func portOf(t *testing.T, hostport string) string {
	t.Helper()
	_, port, err := net.SplitHostPort(hostport)
	if err != nil {
		t.Fatal(err)
	}
	return port
}

// quotedURL finds the URLs a fake's config section names.
var quotedURL = regexp.MustCompile(`"(https?://[^"]+)"`)

// chooserLink finds the fake chooser's link that signs in as alice.
var chooserLink = regexp.MustCompile(`href="([^"]*login_as=1001[^"]*)"`)

// signIn does in a browser what the demo page does: open it, sign in
// with provider as alice on the fake's own chooser page, land on the
// demo's callback and redeem the code there. It returns the origin the
// page ended on.
func signIn(t *testing.T, open, provider string) string {
	t.Helper()
	origin, _ := signInTokens(t, open, provider)
	return origin
}

// demoTokens is the demo tenant's token answer.
type demoTokens struct {
	AccessToken string `json:"access_token"`
	IDToken     string `json:"id_token"`
}

// signInTokens is signIn that also returns the tokens.
func signInTokens(t *testing.T, open, provider string) (string, demoTokens) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	b := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	resp, err := b.Get(open)
	if err != nil {
		t.Fatalf("GET %s: %v", open, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", open, resp.StatusCode)
	}
	page := resp.Request.URL // after any redirect: what location.origin is
	origin := page.Scheme + "://" + page.Host
	verifier := tokens.NewOpaque()
	q := url.Values{
		"response_type": {"code"}, "client_id": {TenantID}, "redirect_uri": {origin + "/demo/callback"},
		"state": {"st"}, "code_challenge": {tokens.S256Challenge(verifier)}, "code_challenge_method": {"S256"},
		"scope": {"openid email profile"},
	}
	// The chooser is a 200 page: stop redirects there, click alice.
	b.CheckRedirect = func(*http.Request, []*http.Request) error { return nil }
	u := origin + "/auth/" + provider + "/login?" + q.Encode()
	var cb *url.URL
	for range 3 {
		resp, err := b.Get(u)
		if err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.Request.URL.Path == "/demo/callback" {
			cb = resp.Request.URL
			break
		}
		m := chooserLink.FindSubmatch(body)
		if resp.StatusCode != http.StatusOK || m == nil {
			t.Fatalf("GET %s ended at %s: %d, not the fake's chooser:\n%.500s", u, resp.Request.URL, resp.StatusCode, body)
		}
		next, err := resp.Request.URL.Parse(html.UnescapeString(string(m[1])))
		if err != nil {
			t.Fatal(err)
		}
		u = next.String()
	}
	if cb == nil || cb.Query().Get("code") == "" || cb.Query().Get("iss") != origin {
		t.Fatalf("sign-in ended at %v, want the demo callback with a code and iss %s", cb, origin)
	}
	resp, err = b.PostForm(origin+"/token", url.Values{
		"grant_type": {"authorization_code"}, "code": {cb.Query().Get("code")}, "redirect_uri": {origin + "/demo/callback"},
		"client_id": {TenantID}, "code_verifier": {verifier},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok demoTokens
	if json.NewDecoder(resp.Body).Decode(&tok); resp.StatusCode != http.StatusOK || tok.AccessToken == "" {
		t.Fatalf("redeeming the code: %d", resp.StatusCode)
	}
	return origin, tok
}

// payload decodes a JWT's claims, unverified: what the demo page shows.
func payload(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", jwt)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestDemoCustomClaims: the demo tenant's tokens carry its custom claims,
// GitHub teams included.
func TestDemoCustomClaims(t *testing.T) {
	d := startDemo(t, "127.0.0.1:0", Options{})
	_, tok := signInTokens(t, d.URL, "github")
	at, id := payload(t, tok.AccessToken), payload(t, tok.IDToken)
	if at["plan"] != "pro" || at["upstream"] != "github:alice" || at["teams"] != nil {
		t.Errorf("access token: plan %v, upstream %v, teams %v", at["plan"], at["upstream"], at["teams"])
	}
	if teams, _ := id["teams"].([]any); id["plan"] != "pro" || len(teams) != 1 || teams[0] != "acme/admins" || id["upstream"] != nil {
		t.Errorf("ID token: plan %v, teams %v, upstream %v", id["plan"], id["teams"], id["upstream"])
	}
}

// TestDemoHostNames: whichever loopback name the demo listens on or is
// opened as, a sign-in works with both fakes; a demo on all interfaces
// works through a forwarded port, its fakes on that same port.
func TestDemoHostNames(t *testing.T) {
	tests := []struct {
		name, listen, open, wantOrigin string
	}{
		{"default, opened as localhost", "127.0.0.1:0", "localhost", "127.0.0.1"},
		{"default, opened as 127.0.0.1", "127.0.0.1:0", "127.0.0.1", "127.0.0.1"},
		{"--listen localhost, opened as localhost", "localhost:0", "localhost", "localhost"},
		{"--listen localhost, opened as 127.0.0.1", "localhost:0", "127.0.0.1", "localhost"},
		{"--listen 0.0.0.0 (container, VM), opened as localhost", "0.0.0.0:0", "localhost", "localhost"},
		{"--listen 0.0.0.0 (container, VM), opened as 127.0.0.1", "0.0.0.0:0", "127.0.0.1", "localhost"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := startDemo(t, tt.listen, Options{})
			port := portOf(t, d.Listen)
			for _, provider := range []string{"google", "github"} {
				got := signIn(t, "http://"+net.JoinHostPort(tt.open, port)+"/demo/", provider)
				if want := "http://" + net.JoinHostPort(tt.wantOrigin, port); got != want {
					t.Errorf("%s: the page ended on %s, want %s", provider, got, want)
				}
			}
			// Every fake, of every provider type, on the demo's own
			// address and port: one forwarded port serves them all.
			fakes := []string{d.Google.URL(), d.GitHub.BaseURL()}
			for _, f := range d.More {
				for _, m := range quotedURL.FindAllStringSubmatch(f.toml, -1) {
					fakes = append(fakes, m[1])
				}
			}
			if len(fakes) < 2+len(d.More) {
				t.Fatalf("found %d fake URLs, want at least one per provider (%d)", len(fakes), 2+len(d.More))
			}
			for _, fake := range fakes {
				if !strings.HasPrefix(fake, "http://"+net.JoinHostPort(tt.wantOrigin, port)+"/_fake/") {
					t.Errorf("fake upstream at %s, want it on the demo's own address and port", fake)
				}
			}
		})
	}
}

// TestDemoPublishedPort: a demo in a container listens on 0.0.0.0:8080,
// published on the host as 9000 (docker run -p 9000:8080): with
// --public-url http://localhost:9000 a browser signs in through the
// published port.
func TestDemoPublishedPort(t *testing.T) {
	fwd, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	public := "http://localhost:" + portOf(t, fwd.Addr().String())
	d := startDemo(t, "0.0.0.0:0", Options{PublicURL: public})
	go forward(fwd, "127.0.0.1:"+portOf(t, d.Listen))
	t.Cleanup(func() { fwd.Close() })
	if got := signIn(t, public+"/demo/", "github"); got != public {
		t.Errorf("the page ended on %s, want %s", got, public)
	}
}

// forward copies connections from l to addr, as a published port does.
func forward(l net.Listener, addr string) {
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			up, err := net.Dial("tcp", addr)
			if err != nil {
				return
			}
			defer up.Close()
			go io.Copy(up, c)
			io.Copy(c, up)
		}()
	}
}

// TestDemoOtherNames: a name browsers may not come back to over http (a
// VM's address) is refused at start with one sentence saying what to do,
// and a request under such a name gets that sentence, not a broken sign-in.
func TestDemoOtherNames(t *testing.T) {
	for _, tt := range []struct{ listen, public string }{
		{"192.0.2.1:0", ""},
		{"127.0.0.1:0", "http://192.0.2.1:8080"},
	} {
		_, err := Start(context.Background(), tt.listen, slog.New(slog.DiscardHandler), Options{PublicURL: tt.public})
		if err == nil || !strings.Contains(err.Error(), "forwarded port") || strings.Contains(err.Error(), "tenants[") {
			t.Errorf("Start(%q, public %q) = %v, want one sentence about forwarded ports, no config errors", tt.listen, tt.public, err)
		}
	}
	d := startDemo(t, "0.0.0.0:0", Options{})
	req, _ := http.NewRequest(http.MethodGet, "http://127.0.0.1:"+portOf(t, d.Listen)+"/demo/", nil)
	req.Host = "192.0.2.1:" + portOf(t, d.Listen)
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusMisdirectedRequest || !strings.Contains(string(body), d.URL) || resp.Header.Get("Location") != "" {
		t.Errorf("opened under another name: %d %q, want 421 naming %s", resp.StatusCode, body, d.URL)
	}
}

// TestLocalTransport: the broker's calls to the demo's public address go
// to the listener (a forwarded port or a tunnel need not exist from
// inside); calls anywhere else are refused.
func TestLocalTransport(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.Host) })}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	public, _ := url.Parse("https://demo.tunnel.example")
	c := &http.Client{Transport: newLocalTransport(public, l)}
	resp, err := c.Get("https://demo.tunnel.example/_fake/google/jwks")
	if err != nil {
		t.Fatalf("call to the public address: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "demo.tunnel.example" {
		t.Errorf("listener saw Host %q, want the public host", body)
	}
	if _, err := c.Get("https://example.com/"); err == nil {
		t.Error("a call elsewhere went through, want it refused")
	}
}

// The example app's tenants: example and example-cookie on its origin,
// example-b (a second app for single sign-on) on another, each with its
// API's back-channel logout URI.
func TestDemoExampleTenants(t *testing.T) {
	tenantsOf := func(opts Options) map[string]config.Tenant {
		t.Helper()
		d := startDemo(t, "127.0.0.1:0", opts)
		cfg, err := config.Parse([]byte(d.config(d.public.String(), time.Minute)), func(string) string { return "" })
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]config.Tenant{}
		for _, tn := range cfg.Tenants {
			out[tn.ID] = tn
		}
		return out
	}
	check := func(ts map[string]config.Tenant, id, origin, delivery string) {
		t.Helper()
		tn, ok := ts[id]
		switch {
		case !ok:
			t.Errorf("no tenant %q", id)
		case strings.Join(tn.AllowedOrigins, ",") != origin || strings.Join(tn.RedirectURIs, ",") != origin+"/callback":
			t.Errorf("%s: origins %v, redirect URIs %v; want %s", id, tn.AllowedOrigins, tn.RedirectURIs, origin)
		case tn.BackchannelLogoutURI != origin+ExampleBackchannelPath:
			t.Errorf("%s: backchannel_logout_uri %q", id, tn.BackchannelLogoutURI)
		case tn.RefreshTokenDelivery != delivery:
			t.Errorf("%s: delivery %q, want %q", id, tn.RefreshTokenDelivery, delivery)
		}
	}
	ts := tenantsOf(Options{ExampleOrigin: "http://127.0.0.1:4001", ExampleOriginB: "http://localhost:4002/"})
	check(ts, ExampleTenantID, "http://127.0.0.1:4001", "body")
	check(ts, ExampleCookieTenantID, "http://127.0.0.1:4001", "cookie")
	check(ts, ExampleBTenantID, "http://localhost:4002", "body")
	if b := ts[TenantID].BackchannelLogoutURI; b != "" {
		t.Errorf("the demo page's tenant has back-channel URI %q", b)
	}
	// The defaults: ports 5173 and 5174 on the demo's host.
	ts = tenantsOf(Options{})
	check(ts, ExampleTenantID, "http://127.0.0.1:5173", "body")
	check(ts, ExampleBTenantID, "http://127.0.0.1:5174", "body")
}
