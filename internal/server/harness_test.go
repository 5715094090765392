package server_test

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/socialbroker/broker/internal/config"
	"github.com/socialbroker/broker/internal/server"
	"github.com/socialbroker/broker/providers/providertest"
	"github.com/socialbroker/broker/tokens"
)

// appRedirect is the SPA's registered redirect URI. Nothing listens there:
// the test browser stops at the redirect and reads the code from it.
const appRedirect = "http://127.0.0.1:5173/callback"

var (
	// alice is a Workspace user (hd): Google is the authority for her address.
	alice = providertest.User{Subject: "1001", Login: "alice", Name: "Alice", Email: "alice@acme.test", EmailVerified: true, Orgs: []string{"acme"}, HostedDomain: "acme.test"}
	bob   = providertest.User{Subject: "1002", Login: "bob", Name: "Bob", Email: "bob@other.test", EmailVerified: true}
	// eve claims alice's address but her provider does not vouch for it.
	eve = providertest.User{Subject: "1003", Login: "eve", Name: "Eve", Email: "alice@acme.test", EmailVerified: false}
)

// clock is the broker's clock: real time plus an offset tests can push.
type clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// harness is a real broker on a real listener, with fake Google, GitHub
// and generic OIDC ("corp", whose ID tokens carry only sub) upstreams.
type harness struct {
	t      *testing.T
	google *providertest.OIDC
	github *providertest.GitHub
	corp   *providertest.OIDC
	issuer string
	clock  *clock
	srv    *server.Server
	cfg    *config.Config
	logs   *syncBuffer
	stops  map[*server.Server]func() // see stop
}

// syncBuffer collects the broker's logs for inspection.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
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

const confidentialSecret = "s3cret-of-the-server-app-4f9c2a7e1b"

func newHarness(t *testing.T, extraTOML string) *harness {
	t.Helper()
	return newHarnessDB(t, "sqlite:"+filepath.Join(t.TempDir(), "broker.db"), extraTOML)
}

// newHarnessDB is newHarness on the database dbURL.
func newHarnessDB(t *testing.T, dbURL, extraTOML string) *harness {
	t.Helper()
	h := &harness{t: t, clock: &clock{}, logs: &syncBuffer{}}
	users := []providertest.User{alice, bob, eve}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.issuer = "http://" + l.Addr().String()
	h.google = providertest.NewOIDC(providertest.OIDCOptions{Title: "Google", ClientID: "g-client", ClientSecret: "g-secret", Users: users})
	h.github = providertest.NewGitHub(providertest.GitHubOptions{ClientID: "gh-client", ClientSecret: "gh-secret", Users: users})
	h.corp = providertest.NewOIDC(providertest.OIDCOptions{Title: "Corp", ClientID: "corp-client", ClientSecret: "corp-secret", Users: users, MinimalIDToken: true, IssuerParameter: true})
	t.Cleanup(h.google.Close)
	t.Cleanup(h.github.Close)
	t.Cleanup(h.corp.Close)

	toml := fmt.Sprintf(`
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
%s`, h.issuer, dbURL, h.google.URL(), h.github.BaseURL(), h.github.APIURL(),
		h.corp.URL(), appRedirect, appRedirect, appRedirect, confidentialSecret, extraTOML)
	cfg, err := config.Parse([]byte(toml), func(string) string { return "" })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	h.cfg = cfg
	h.srv = h.serve(cfg, l)
	return h
}

// serve starts a broker on l with cfg and the harness's clock and logs.
func (h *harness) serve(cfg *config.Config, l net.Listener) *server.Server {
	h.t.Helper()
	return h.serveAt(cfg, l, h.clock.Now)
}

// serveAt is serve with a clock of its own.
func (h *harness) serveAt(cfg *config.Config, l net.Listener, now func() time.Time) *server.Server {
	h.t.Helper()
	srv, err := server.New(h.t.Context(), cfg, server.Options{Logger: newTestLogger(h.logs), Now: now})
	if err != nil {
		h.t.Fatalf("server.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, l) }()
	stop := sync.OnceFunc(func() {
		cancel()
		if err := <-done; err != nil {
			h.t.Errorf("Serve: %v", err)
		}
		srv.Close()
	})
	h.t.Cleanup(stop)
	if h.stops == nil {
		h.stops = map[*server.Server]func(){}
	}
	h.stops[srv] = stop
	return srv
}

// stop shuts srv down before the test ends: a broker that goes away.
func (h *harness) stop(srv *server.Server) { h.stops[srv]() }

// addReplica starts another broker sharing the config and database, as a
// second instance behind the same load balancer, and returns its base URL.
// Both answer for the same issuer; tests route a request to a replica by
// swapping h.issuer for that base URL.
func (h *harness) addReplica() string {
	h.t.Helper()
	return h.startReplica(h.cfg)
}

// startReplica is addReplica with a configuration of its own.
func (h *harness) startReplica(cfg *config.Config) string {
	h.t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		h.t.Fatal(err)
	}
	h.serve(cfg, l)
	return "http://" + l.Addr().String()
}

// browser is a user agent with its own cookie jar that does not follow
// redirects on its own, so each hop can be inspected.
type browser struct {
	t      *testing.T
	client *http.Client
}

func (h *harness) newBrowser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: h.t, client: &http.Client{
		Jar:           jar,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (b *browser) get(u string) *http.Response {
	b.t.Helper()
	resp, err := b.client.Get(u)
	if err != nil {
		b.t.Fatalf("GET %s: %v", u, err)
	}
	return resp
}

// pkce is one app-side authorization request's secrets.
type pkce struct {
	verifier, challenge, state, nonce string
}

func newPKCE() pkce {
	b := make([]byte, 32)
	rand.Read(b)
	v := base64.RawURLEncoding.EncodeToString(b)
	return pkce{verifier: v, challenge: tokens.S256Challenge(v), state: tokens.NewOpaque(), nonce: tokens.NewOpaque()}
}

// authorizeURL builds an app's authorization request.
func (h *harness) authorizeURL(path, client string, p pkce, extra url.Values) string {
	q := url.Values{
		"response_type": {"code"}, "client_id": {client}, "redirect_uri": {appRedirect},
		"state": {p.state}, "nonce": {p.nonce}, "scope": {"openid email profile"},
		"code_challenge": {p.challenge}, "code_challenge_method": {"S256"},
	}
	for k, v := range extra {
		q[k] = v
	}
	return h.issuer + path + "?" + q.Encode()
}

// follow walks redirects from u until one leaves for the app's redirect
// URI, and returns that final URL's query.
func (b *browser) follow(u string) url.Values {
	b.t.Helper()
	for range 10 {
		resp := b.get(u)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
			b.t.Fatalf("GET %s: status %d, want a redirect; body: %.300s", u, resp.StatusCode, body)
		}
		next, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
		if err != nil {
			b.t.Fatal(err)
		}
		if strings.HasPrefix(next.String(), appRedirect) {
			return next.Query()
		}
		u = next.String()
	}
	b.t.Fatal("too many redirects")
	return nil
}

// upstreamRedirect starts a login and returns where the broker sends the
// browser upstream.
func (b *browser) upstreamRedirect(start string) *url.URL {
	b.t.Helper()
	resp := b.get(start)
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		b.t.Fatalf("GET %s: status %d, want 302 upstream", start, resp.StatusCode)
	}
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		b.t.Fatal(err)
	}
	return u
}

// login runs a whole sign-in of user through provider for client and
// returns the app's redirect query (code, state, iss or error).
func (h *harness) login(b *browser, provider, client string, user providertest.User, p pkce) url.Values {
	h.t.Helper()
	h.setNextUser(provider, user)
	return b.follow(h.authorizeURL("/auth/"+provider+"/login", client, p, nil))
}

func (h *harness) setNextUser(provider string, u providertest.User) {
	switch provider {
	case "google":
		h.google.SetNextUser(u)
	case "github":
		h.github.SetNextUser(u)
	case "corp":
		h.corp.SetNextUser(u)
	default:
		h.t.Fatalf("unknown provider %s", provider)
	}
}

// tokenResponse is the token endpoint's JSON.
type tokenResponse struct {
	AccessToken      string `json:"access_token"`
	TokenType        string `json:"token_type"`
	ExpiresIn        int64  `json:"expires_in"`
	RefreshToken     string `json:"refresh_token"`
	Scope            string `json:"scope"`
	IDToken          string `json:"id_token"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// postForm posts a form to the broker and decodes the JSON answer.
func (h *harness) postForm(path string, form url.Values, hdr http.Header, out any) int {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, h.issuer+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range hdr {
		req.Header[k] = v
	}
	return h.do(req, out)
}

func (h *harness) postJSON(path string, body any, hdr http.Header, out any) int {
	h.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, h.issuer+path, strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header[k] = v
	}
	return h.do(req, out)
}

// getBearer calls a GET endpoint with an access token, naming the app the
// token was issued to (X-Tenant-ID), as every app's client does.
func (h *harness) getBearer(path, token string, out any) (int, http.Header) {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, h.issuer+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if tid := tokenTenant(token); tid != "" {
		req.Header.Set("X-Tenant-ID", tid)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			h.t.Fatalf("GET %s: decode: %v", path, err)
		}
	}
	return resp.StatusCode, resp.Header
}

func (h *harness) do(req *http.Request, out any) int {
	h.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	if out != nil {
		body, _ := io.ReadAll(resp.Body)
		if len(body) > 0 {
			if err := json.Unmarshal(body, out); err != nil {
				h.t.Fatalf("%s %s: decode %q: %v", req.Method, req.URL.Path, body, err)
			}
		}
	}
	return resp.StatusCode
}

// redeem exchanges a code as the public SPA does.
func (h *harness) redeem(client, code, verifier string) (tokenResponse, int) {
	h.t.Helper()
	var tr tokenResponse
	status := h.postForm("/token", url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {appRedirect},
		"client_id": {client}, "code_verifier": {verifier},
	}, nil, &tr)
	return tr, status
}

// signIn runs a login and redeems the code; it fails the test on any error.
func (h *harness) signIn(provider, client string, user providertest.User) tokenResponse {
	h.t.Helper()
	p := newPKCE()
	q := h.login(h.newBrowser(), provider, client, user, p)
	if q.Get("error") != "" {
		h.t.Fatalf("login: error=%s (%s)", q.Get("error"), q.Get("error_description"))
	}
	tr, status := h.redeem(client, q.Get("code"), p.verifier)
	if status != http.StatusOK {
		h.t.Fatalf("redeem: status %d: %+v", status, tr)
	}
	return tr
}

func (h *harness) refreshGrant(client, rt string) (tokenResponse, int) {
	h.t.Helper()
	var tr tokenResponse
	status := h.postForm("/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {client}}, nil, &tr)
	return tr, status
}

// tokenTenant reads, unverified, the tid claim of what looks like one of
// the broker's access tokens; "" for anything else.
func tokenTenant(token string) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		TID string `json:"tid"`
	}
	_ = json.Unmarshal(b, &c)
	return c.TID
}
