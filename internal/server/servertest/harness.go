package servertest

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
const AppRedirect = "http://127.0.0.1:5173/callback"

var (
	// alice is a Workspace user (hd): Google is the authority for her address.
	Alice = providertest.User{Subject: "1001", Login: "alice", Name: "Alice", Email: "alice@acme.test", EmailVerified: true, Orgs: []string{"acme"}, HostedDomain: "acme.test"}
	Bob   = providertest.User{Subject: "1002", Login: "bob", Name: "Bob", Email: "bob@other.test", EmailVerified: true}
	// eve claims alice's address but her provider does not vouch for it.
	Eve = providertest.User{Subject: "1003", Login: "eve", Name: "Eve", Email: "alice@acme.test", EmailVerified: false}
)

// clock is the broker's clock: real time plus an offset tests can push.
type Clock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// harness is a real broker on a real listener, with fake Google, GitHub
// and generic OIDC ("corp", whose ID tokens carry only sub) upstreams.
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
}

// syncBuffer collects the broker's logs for inspection.
type SyncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

const ConfidentialSecret = "s3cret-of-the-server-app-4f9c2a7e1b"

func New(t *testing.T, extraTOML string) *Harness {
	t.Helper()
	return NewDB(t, "sqlite:"+filepath.Join(t.TempDir(), "broker.db"), extraTOML)
}

// newHarnessDB is newHarness on the database dbURL.
func NewDB(t *testing.T, dbURL, extraTOML string) *Harness {
	t.Helper()
	h := &Harness{T: t, Clock: &Clock{}, Logs: &SyncBuffer{}}
	users := []providertest.User{Alice, Bob, Eve}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.Issuer = "http://" + l.Addr().String()
	h.Google = providertest.NewOIDC(providertest.OIDCOptions{Title: "Google", ClientID: "g-client", ClientSecret: "g-secret", Users: users})
	h.GitHub = providertest.NewGitHub(providertest.GitHubOptions{ClientID: "gh-client", ClientSecret: "gh-secret", Users: users})
	h.Corp = providertest.NewOIDC(providertest.OIDCOptions{Title: "Corp", ClientID: "corp-client", ClientSecret: "corp-secret", Users: users, MinimalIDToken: true, IssuerParameter: true})
	t.Cleanup(h.Google.Close)
	t.Cleanup(h.GitHub.Close)
	t.Cleanup(h.Corp.Close)

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
%s`, h.Issuer, dbURL, h.Google.URL(), h.GitHub.BaseURL(), h.GitHub.APIURL(),
		h.Corp.URL(), AppRedirect, AppRedirect, AppRedirect, ConfidentialSecret, extraTOML)
	cfg, err := config.Parse([]byte(toml), func(string) string { return "" })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	h.Cfg = cfg
	h.Srv = h.Serve(cfg, l)
	return h
}

// serve starts a broker on l with cfg and the harness's clock and logs.
func (h *Harness) Serve(cfg *config.Config, l net.Listener) *server.Server {
	h.T.Helper()
	return h.ServeAt(cfg, l, h.Clock.Now)
}

// serveAt is serve with a clock of its own.
func (h *Harness) ServeAt(cfg *config.Config, l net.Listener, now func() time.Time) *server.Server {
	h.T.Helper()
	srv, err := server.New(h.T.Context(), cfg, server.Options{Logger: NewLogger(h.Logs), Now: now})
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

// addReplica starts another broker sharing the config and database, as a
// second instance behind the same load balancer, and returns its base URL.
// Both answer for the same issuer; tests route a request to a replica by
// swapping h.issuer for that base URL.
func (h *Harness) AddReplica() string {
	h.T.Helper()
	return h.StartReplica(h.Cfg)
}

// startReplica is addReplica with a configuration of its own.
func (h *Harness) StartReplica(cfg *config.Config) string {
	h.T.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		h.T.Fatal(err)
	}
	h.Serve(cfg, l)
	return "http://" + l.Addr().String()
}

// browser is a user agent with its own cookie jar that does not follow
// redirects on its own, so each hop can be inspected.
type Browser struct {
	T      *testing.T
	Client *http.Client
}

func (h *Harness) NewBrowser() *Browser {
	jar, _ := cookiejar.New(nil)
	return &Browser{T: h.T, Client: &http.Client{
		Jar:           jar,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (b *Browser) Get(u string) *http.Response {
	b.T.Helper()
	resp, err := b.Client.Get(u)
	if err != nil {
		b.T.Fatalf("GET %s: %v", u, err)
	}
	return resp
}

// pkce is one app-side authorization request's secrets.
type PKCE struct {
	Verifier, Challenge, State, Nonce string
}

func NewPKCE() PKCE {
	b := make([]byte, 32)
	rand.Read(b)
	v := base64.RawURLEncoding.EncodeToString(b)
	return PKCE{Verifier: v, Challenge: tokens.S256Challenge(v), State: tokens.NewOpaque(), Nonce: tokens.NewOpaque()}
}

// authorizeURL builds an app's authorization request.
func (h *Harness) AuthorizeURL(path, client string, p PKCE, extra url.Values) string {
	q := url.Values{
		"response_type": {"code"}, "client_id": {client}, "redirect_uri": {AppRedirect},
		"state": {p.State}, "nonce": {p.Nonce}, "scope": {"openid email profile"},
		"code_challenge": {p.Challenge}, "code_challenge_method": {"S256"},
	}
	for k, v := range extra {
		q[k] = v
	}
	return h.Issuer + path + "?" + q.Encode()
}

// follow walks redirects from u until one leaves for the app's redirect
// URI, and returns that final URL's query.
func (b *Browser) Follow(u string) url.Values {
	b.T.Helper()
	for range 10 {
		resp := b.Get(u)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
			b.T.Fatalf("GET %s: status %d, want a redirect; body: %.300s", u, resp.StatusCode, body)
		}
		next, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
		if err != nil {
			b.T.Fatal(err)
		}
		if strings.HasPrefix(next.String(), AppRedirect) {
			return next.Query()
		}
		u = next.String()
	}
	b.T.Fatal("too many redirects")
	return nil
}

// upstreamRedirect starts a login and returns where the broker sends the
// browser upstream.
func (b *Browser) UpstreamRedirect(start string) *url.URL {
	b.T.Helper()
	resp := b.Get(start)
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		b.T.Fatalf("GET %s: status %d, want 302 upstream", start, resp.StatusCode)
	}
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		b.T.Fatal(err)
	}
	return u
}

// login runs a whole sign-in of user through provider for client and
// returns the app's redirect query (code, state, iss or error).
func (h *Harness) Login(b *Browser, provider, client string, user providertest.User, p PKCE) url.Values {
	h.T.Helper()
	h.SetNextUser(provider, user)
	return b.Follow(h.AuthorizeURL("/auth/"+provider+"/login", client, p, nil))
}

func (h *Harness) SetNextUser(provider string, u providertest.User) {
	switch provider {
	case "google":
		h.Google.SetNextUser(u)
	case "github":
		h.GitHub.SetNextUser(u)
	case "corp":
		h.Corp.SetNextUser(u)
	default:
		h.T.Fatalf("unknown provider %s", provider)
	}
}

// tokenResponse is the token endpoint's JSON.
type TokenResponse struct {
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
func (h *Harness) PostForm(path string, form url.Values, hdr http.Header, out any) int {
	h.T.Helper()
	req, _ := http.NewRequest(http.MethodPost, h.Issuer+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range hdr {
		req.Header[k] = v
	}
	return h.Do(req, out)
}

func (h *Harness) PostJSON(path string, body any, hdr http.Header, out any) int {
	h.T.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, h.Issuer+path, strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header[k] = v
	}
	return h.Do(req, out)
}

// getBearer calls a GET endpoint with an access token, naming the app the
// token was issued to (X-Tenant-ID), as every app's client does.
func (h *Harness) GetBearer(path, token string, out any) (int, http.Header) {
	h.T.Helper()
	req, _ := http.NewRequest(http.MethodGet, h.Issuer+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if tid := TokenTenant(token); tid != "" {
		req.Header.Set("X-Tenant-ID", tid)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.T.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			h.T.Fatalf("GET %s: decode: %v", path, err)
		}
	}
	return resp.StatusCode, resp.Header
}

func (h *Harness) Do(req *http.Request, out any) int {
	h.T.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.T.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	if out != nil {
		body, _ := io.ReadAll(resp.Body)
		if len(body) > 0 {
			if err := json.Unmarshal(body, out); err != nil {
				h.T.Fatalf("%s %s: decode %q: %v", req.Method, req.URL.Path, body, err)
			}
		}
	}
	return resp.StatusCode
}

// redeem exchanges a code as the public SPA does.
func (h *Harness) Redeem(client, code, verifier string) (TokenResponse, int) {
	h.T.Helper()
	var tr TokenResponse
	status := h.PostForm("/token", url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {AppRedirect},
		"client_id": {client}, "code_verifier": {verifier},
	}, nil, &tr)
	return tr, status
}

// signIn runs a login and redeems the code; it fails the test on any error.
func (h *Harness) SignIn(provider, client string, user providertest.User) TokenResponse {
	h.T.Helper()
	p := NewPKCE()
	q := h.Login(h.NewBrowser(), provider, client, user, p)
	if q.Get("error") != "" {
		h.T.Fatalf("login: error=%s (%s)", q.Get("error"), q.Get("error_description"))
	}
	tr, status := h.Redeem(client, q.Get("code"), p.Verifier)
	if status != http.StatusOK {
		h.T.Fatalf("redeem: status %d: %+v", status, tr)
	}
	return tr
}

func (h *Harness) RefreshGrant(client, rt string) (TokenResponse, int) {
	h.T.Helper()
	var tr TokenResponse
	status := h.PostForm("/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {client}}, nil, &tr)
	return tr, status
}

// tokenTenant reads, unverified, the tid claim of what looks like one of
// the broker's access tokens; "" for anything else.
func TokenTenant(token string) string {
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
