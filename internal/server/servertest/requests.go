package servertest

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/socialbroker/broker/internal/config"
	"github.com/socialbroker/broker/providers/providertest"
)

// variant starts a second broker on the harness's database and clock,
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

// from is an HTTP client whose connections leave from the loopback
// address ip (Linux routes all of 127.0.0.0/8 to lo), so tests can be
// several clients, as the broker sees them.
func From(ip string) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}, Timeout: 5 * time.Second}
	return &http.Client{
		Transport:     &http.Transport{DialContext: d.DialContext, DisableKeepAlives: true},
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// reply is an answer read whole.
type Reply struct {
	Status int
	Header http.Header
	Body   string
}

func (h *Harness) Call(client *http.Client, req *http.Request) Reply {
	h.T.Helper()
	resp, err := client.Do(req)
	if err != nil {
		h.T.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	return Reply{Status: resp.StatusCode, Header: resp.Header, Body: ReadAll(h.T, resp)}
}

// via returns a copy of h whose requests go to the replica at base.
func (h *Harness) Via(base string) *Harness {
	c := *h
	c.Issuer = base
	return &c
}

// signInConfidential runs a login for the confidential tenant "server"
// and redeems its code with client_secret_basic.
func (h *Harness) SignInConfidential(user providertest.User) TokenResponse {
	h.T.Helper()
	p := NewPKCE()
	q := h.Login(h.NewBrowser(), "google", "server", user, p)
	var tr TokenResponse
	status := h.PostForm("/token", url.Values{
		"grant_type": {"authorization_code"}, "code": {q.Get("code")}, "redirect_uri": {AppRedirect}, "code_verifier": {p.Verifier},
	}, http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte("server:"+ConfidentialSecret))}}, &tr)
	if status != http.StatusOK {
		h.T.Fatalf("redeem for server: %d %+v", status, tr)
	}
	return tr
}

func PayloadOf(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS: %.40q", tok)
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

type MeResponse struct {
	ID            string   `json:"id"`
	Tenant        string   `json:"tenant"`
	Name          string   `json:"name"`
	Email         string   `json:"email"`
	EmailVerified bool     `json:"emailVerified"`
	Avatar        string   `json:"avatar"`
	Roles         []string `json:"roles"`
	Identities    []struct {
		Provider, Subject, Username, Email string
	} `json:"identities"`
}

type CheckResponse struct {
	Authenticated bool   `json:"authenticated"`
	Sub           string `json:"sub"`
	Tenant        string `json:"tenant"`
	ExpiresAt     string `json:"expiresAt"`
	Error         string `json:"error"`
	Message       string `json:"message"`
}

// callbackURL completes an upstream round trip by hand: it asks the fake to
// approve and returns the broker callback URL the fake redirects to.
func (b *Browser) UpstreamCallback(h *Harness, start string) *url.URL {
	b.T.Helper()
	up := b.UpstreamRedirect(start)
	resp := b.Get(up.String())
	resp.Body.Close()
	cb, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(cb.String(), h.Issuer+"/auth/") {
		b.T.Fatalf("upstream sent the browser to %q, want the broker callback", resp.Header.Get("Location"))
	}
	return cb
}

func MustRequest(t *testing.T, method, u string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// signInScope signs in with an explicit scope and returns the token answer.
func (h *Harness) SignInScope(provider, client, scope string, user providertest.User) TokenResponse {
	h.T.Helper()
	p := NewPKCE()
	h.SetNextUser(provider, user)
	q := h.NewBrowser().Follow(h.AuthorizeURL("/auth/"+provider+"/login", client, p, url.Values{"scope": {scope}}))
	if q.Get("code") == "" {
		h.T.Fatalf("login: %v", q)
	}
	tr, status := h.Redeem(client, q.Get("code"), p.Verifier)
	if status != http.StatusOK {
		h.T.Fatalf("redeem: status %d: %+v", status, tr)
	}
	return tr
}

func ReadAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
