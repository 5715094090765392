package interop_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/socialbroker/broker/internal/config"
	"github.com/socialbroker/broker/internal/server"
	"github.com/socialbroker/broker/providers/providertest"
)

// oauth2ProxyVersion is the release the tests run; .ci/run builds the same.
const oauth2ProxyVersion = "v7.15.6"

// timeout bounds every wait in these tests: a process start, an HTTP
// exchange, a poll for a token to expire.
const timeout = 15 * time.Second

var (
	// alice holds the tenant role admin (by her email, which GitHub
	// vouches for); bob holds only viewer.
	alice = providertest.User{Subject: "2001", Login: "alice", Name: "Alice", Email: "alice@acme.test", EmailVerified: true}
	bob   = providertest.User{Subject: "2002", Login: "bob", Name: "Bob", Email: "bob@other.test", EmailVerified: true}
)

const (
	tenantID = "proxy"
	// tenantSecret is the proxy's client secret: a confidential tenant,
	// as oauth2-proxy is a server-side app. At least 32 characters.
	tenantSecret = "interop-oauth2-proxy-client-secret-0123456789"
)

// proxyBinary returns the oauth2-proxy executable: $OAUTH2_PROXY_BIN, or
// the path .ci/run caches it at. Without one the test skips, or fails
// under CI=true, where a missing binary must not pass unnoticed.
func proxyBinary(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("OAUTH2_PROXY_BIN")
	if bin == "" {
		cache := os.Getenv("XDG_CACHE_HOME")
		if cache == "" {
			home, _ := os.UserHomeDir()
			cache = filepath.Join(home, ".cache")
		}
		bin = filepath.Join(cache, "broker-ci", "oauth2-proxy-"+oauth2ProxyVersion, "oauth2-proxy")
	}
	if fi, err := os.Stat(bin); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
		return bin
	}
	msg := fmt.Sprintf("oauth2-proxy not found at %s; build it with\n"+
		"  GOBIN=$(dirname %s) go install github.com/oauth2-proxy/oauth2-proxy/v7@%s\n"+
		"or point OAUTH2_PROXY_BIN at one (.ci/run does this)", bin, bin, oauth2ProxyVersion)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// freeAddr returns a loopback address nothing listens on yet, for a
// process that opens its own listener.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// syncBuffer collects a process's or the broker's output; it is dumped
// when a test fails.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// broker is a real broker on a real listener, in process, with a fake
// GitHub upstream and one confidential tenant for the proxy.
type broker struct {
	t      *testing.T
	issuer string
	github *providertest.GitHub
	logs   *syncBuffer
	// what the configuration is made of; restart changes admins.
	addr, db, redirectURI, accessTTL string
	admins                           []string
	stop                             func()
}

// newBroker starts a broker whose tenant "proxy" redirects to
// redirectURI, with access tokens that live accessTTL. alice holds the
// role admin; everyone holds viewer.
func newBroker(t *testing.T, redirectURI, accessTTL string) *broker {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &broker{
		t: t, issuer: "http://" + l.Addr().String(), logs: &syncBuffer{},
		addr: l.Addr().String(), db: "sqlite:" + filepath.Join(t.TempDir(), "broker.db"),
		redirectURI: redirectURI, accessTTL: accessTTL, admins: []string{alice.Email},
	}
	b.github = providertest.NewGitHub(providertest.GitHubOptions{ClientID: "gh-client", ClientSecret: "gh-secret", Users: []providertest.User{alice, bob}})
	t.Cleanup(b.github.Close)
	b.serve(l)
	t.Cleanup(func() {
		b.stop()
		if t.Failed() {
			t.Logf("broker logs:\n%s", b.logs.String())
		}
	})
	return b
}

// config is the broker's configuration as it stands.
func (b *broker) config() *config.Config {
	b.t.Helper()
	admins, _ := json.Marshal(b.admins) // a TOML array of strings too
	// refresh_reuse_grace = 0: a refresh token presented twice ends the
	// session at once, so a proxy that kept a spent refresh token would
	// be caught at its next refresh.
	toml := fmt.Sprintf(`
issuer = %q
upstream_timeout = "2s"
[database]
url = %q
[tokens]
access_ttl = %q
refresh_reuse_grace = "0s"
[providers.github]
client_id = "gh-client"
client_secret = "gh-secret"
base_url = %q
api_url = %q
[[tenants]]
id = %q
name = "App behind oauth2-proxy"
redirect_uris = [%q]
providers = ["github"]
client_secret = %q
[[tenants.roles]]
role = "admin"
emails = %s
[[tenants.roles]]
role = "viewer"
everyone = true
`, b.issuer, b.db, b.accessTTL, b.github.BaseURL(), b.github.APIURL(), tenantID, b.redirectURI, tenantSecret, admins)
	cfg, err := config.Parse([]byte(toml), func(string) string { return "" })
	if err != nil {
		b.t.Fatalf("config: %v", err)
	}
	return cfg
}

// serve starts a broker with the current configuration on l.
func (b *broker) serve(l net.Listener) {
	b.t.Helper()
	logger := slog.New(slog.NewJSONHandler(b.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := server.New(b.t.Context(), b.config(), server.Options{Logger: logger})
	if err != nil {
		b.t.Fatalf("server.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, l) }()
	b.stop = func() {
		cancel()
		if err := <-done; err != nil {
			b.t.Errorf("Serve: %v", err)
		}
		srv.Close()
		b.stop = func() {}
	}
}

// restart stops the broker and starts it again at the same address, on
// the same database, with admins as the only holders of the role admin:
// an operator's change to config.toml.
func (b *broker) restart(admins ...string) {
	b.t.Helper()
	b.stop()
	b.admins = admins
	l, err := net.Listen("tcp", b.addr)
	if err != nil {
		b.t.Fatalf("listen again on %s: %v", b.addr, err)
	}
	b.serve(l)
}

// userinfo calls the broker's /userinfo with an access token and returns
// the status and, on 200, the subject.
func (b *broker) userinfo(accessToken string) (int, string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, b.issuer+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+accessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatalf("GET /userinfo: %v", err)
	}
	defer resp.Body.Close()
	var body struct {
		Sub string `json:"sub"`
	}
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			b.t.Fatalf("GET /userinfo: decode: %v", err)
		}
	}
	return resp.StatusCode, body.Sub
}

// waitRefused polls /userinfo until the broker refuses accessToken (401),
// for a token about to expire or just revoked.
func (b *broker) waitRefused(accessToken string) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		status, _ := b.userinfo(accessToken)
		if status == http.StatusUnauthorized {
			return
		}
		if status != http.StatusOK {
			b.t.Fatalf("GET /userinfo: status %d, want 200 or 401", status)
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("the broker still accepts the access token after %s", timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// seen is what the app behind the proxy was told about the user: the
// headers oauth2-proxy sets (pass_user_headers, pass_access_token).
type seen struct {
	User              string `json:"user"`
	Email             string `json:"email"`
	PreferredUsername string `json:"preferred_username"`
	Groups            string `json:"groups"`
	AccessToken       string `json:"access_token"`
}

// newApp starts the app behind the proxy. It answers every request with
// the identity headers it received, as JSON.
func newApp(t *testing.T) *httptest.Server {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(seen{
			User:              r.Header.Get("X-Forwarded-User"),
			Email:             r.Header.Get("X-Forwarded-Email"),
			PreferredUsername: r.Header.Get("X-Forwarded-Preferred-Username"),
			Groups:            r.Header.Get("X-Forwarded-Groups"),
			AccessToken:       r.Header.Get("X-Forwarded-Access-Token"),
		})
	}))
	t.Cleanup(app.Close)
	return app
}

// proxy is a running oauth2-proxy.
type proxy struct {
	url string
	out *syncBuffer
}

// startProxy runs oauth2-proxy on addr in front of appURL, with the broker
// as its OIDC provider, plus extra flags; it returns once the proxy
// answers /ping and kills it when the test ends.
func startProxy(t *testing.T, bin string, b *broker, addr, appURL string, extra ...string) *proxy {
	t.Helper()
	p := &proxy{url: "http://" + addr, out: &syncBuffer{}}
	secret := make([]byte, 16)
	rand.Read(secret)
	args := append([]string{
		"--provider=oidc",
		"--oidc-issuer-url=" + b.issuer,
		"--client-id=" + tenantID,
		"--client-secret=" + tenantSecret,
		"--cookie-secret=" + hex.EncodeToString(secret),
		"--cookie-secure=false",
		"--email-domain=*",
		"--http-address=" + addr,
		"--upstream=" + appURL,
		"--redirect-url=" + p.url + "/oauth2/callback",
		"--skip-provider-button",
		"--code-challenge-method=S256",
		"--scope=openid email profile roles",
		"--pass-access-token",
		// The broker puts the authorization request's nonce in its ID
		// token; check it (oauth2-proxy skips this by default).
		"--insecure-oidc-skip-nonce=false",
	}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = p.out, p.out
	// oauth2-proxy reads OAUTH2_PROXY_* variables as options; keep the
	// test's own (OAUTH2_PROXY_BIN) away from it.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "OAUTH2_PROXY_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start oauth2-proxy: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("oauth2-proxy output:\n%s", p.out.String())
		}
	})

	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: time.Second}
	for {
		select {
		case err := <-exited:
			exited <- err // for the cleanup
			t.Fatalf("oauth2-proxy exited before serving: %v\n%s", err, p.out.String())
		default:
		}
		if resp, err := client.Get(p.url + "/ping"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("oauth2-proxy did not answer /ping within %s\n%s", timeout, p.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// logged waits (bounded) until the proxy's output holds s n times: its
// output reaches the buffer through a pipe, a little after it answered.
func (p *proxy) logged(s string, n int) bool {
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if strings.Count(p.out.String(), s) >= n {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
	}
}

// browser is a user agent with a cookie jar. get follows redirects and
// records each hop; getOnce does not follow.
type browser struct {
	t    *testing.T
	jar  http.CookieJar
	hops []string
}

func newBrowser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, jar: jar}
}

// get GETs u, following redirects, and returns the final status and body;
// b.hops lists the URLs it was redirected to.
func (b *browser) get(u string) (int, []byte) {
	b.t.Helper()
	b.hops = nil
	client := &http.Client{Jar: b.jar, Timeout: timeout, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		b.hops = append(b.hops, req.URL.String())
		if len(via) >= 20 {
			return fmt.Errorf("more than 20 redirects: %v", b.hops)
		}
		return nil
	}}
	return b.do(client, u)
}

// getOnce GETs u without following a redirect.
func (b *browser) getOnce(u string) (int, []byte, http.Header) {
	b.t.Helper()
	client := &http.Client{Jar: b.jar, Timeout: timeout, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
	resp, err := client.Get(u)
	if err != nil {
		b.t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body, resp.Header
}

func (b *browser) do(client *http.Client, u string) (int, []byte) {
	b.t.Helper()
	resp, err := client.Get(u)
	if err != nil {
		b.t.Fatalf("GET %s: %v (hops %v)", u, err, b.hops)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// visited reports whether a hop of the last get started with prefix.
func (b *browser) visited(prefix string) bool {
	for _, h := range b.hops {
		if strings.HasPrefix(h, prefix) {
			return true
		}
	}
	return false
}

// signIn sends a fresh browser to the proxy as user and returns the
// browser and the final status and body.
func signIn(t *testing.T, b *broker, p *proxy, user providertest.User) (*browser, int, []byte) {
	t.Helper()
	b.github.SetNextUser(user)
	br := newBrowser(t)
	status, body := br.get(p.url + "/")
	return br, status, body
}

// appSaw decodes the app's answer; it fails the test unless the request
// reached the app.
func appSaw(t *testing.T, status int, body []byte) seen {
	t.Helper()
	var s seen
	if status != http.StatusOK {
		t.Fatalf("status %d, want 200 from the app; body: %.400s", status, body)
	}
	if err := json.Unmarshal(body, &s); err != nil {
		t.Fatalf("the answer is not the app's: %v; body: %.400s", err, body)
	}
	if s.AccessToken == "" {
		t.Fatalf("the app got no X-Forwarded-Access-Token: %+v", s)
	}
	return s
}

// claims decodes a JWT's payload without verifying it (the broker's
// /userinfo does that).
func claims(t *testing.T, jwt string) map[string]any {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %.40q", jwt)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	return c
}

// cookiesOf copies the browser's cookies for u into a new browser: the
// same proxy session, replayed later.
func (b *browser) cookiesOf(u string) *browser {
	b.t.Helper()
	pu, _ := url.Parse(u)
	nb := newBrowser(b.t)
	nb.jar.SetCookies(pu, b.jar.Cookies(pu))
	return nb
}
