package servertest

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/socialbroker/broker/providers/providertest"
)

// From is an HTTP client whose connections leave from the loopback
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

// Reply is an answer read whole.
type Reply struct {
	Status int
	Header http.Header
	Body   string
}

// Call sends req with client and reads the answer whole.
func (h *Harness) Call(client *http.Client, req *http.Request) Reply {
	h.T.Helper()
	resp, err := client.Do(req)
	if err != nil {
		h.T.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	return Reply{Status: resp.StatusCode, Header: resp.Header, Body: ReadAll(h.T, resp)}
}

// SignInConfidential runs a login for the confidential tenant "server"
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

// PayloadOf decodes, unverified, the claims of the JWS tok.
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

// MeResponse is the JSON of /auth/me.
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

// CheckResponse is the JSON of /auth/check.
type CheckResponse struct {
	Authenticated bool   `json:"authenticated"`
	Sub           string `json:"sub"`
	Tenant        string `json:"tenant"`
	ExpiresAt     string `json:"expiresAt"`
	Error         string `json:"error"`
	Message       string `json:"message"`
}

// MustRequest is a request without a body, or the test fails.
func MustRequest(t *testing.T, method, u string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return req
}

// SignInScope signs in with an explicit scope and returns the token answer.
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

// ReadAll reads the body of resp whole.
func ReadAll(t *testing.T, resp *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TokenResponse is the token endpoint's JSON.
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

// PostForm posts a form to the broker and decodes the JSON answer.
func (h *Harness) PostForm(path string, form url.Values, hdr http.Header, out any) int {
	h.T.Helper()
	req, _ := http.NewRequest(http.MethodPost, h.Issuer+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range hdr {
		req.Header[k] = v
	}
	return h.Do(req, out)
}

// PostJSON posts body as JSON to the broker and decodes the JSON answer.
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

// GetBearer calls a GET endpoint with an access token, naming the app the
// token was issued to (X-Tenant-ID), as every app's client does.
func (h *Harness) GetBearer(path, token string, out any) (int, http.Header) {
	h.T.Helper()
	req, _ := http.NewRequest(http.MethodGet, h.Issuer+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	if tid := TokenTenant(token); tid != "" {
		req.Header.Set("X-Tenant-ID", tid)
	}
	resp, err := h.client().Do(req)
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

// Do sends req and decodes a JSON answer into out (when not nil); it
// returns the status.
func (h *Harness) Do(req *http.Request, out any) int {
	h.T.Helper()
	resp, err := h.client().Do(req)
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

// Redeem exchanges a code as the public SPA does.
func (h *Harness) Redeem(client, code, verifier string) (TokenResponse, int) {
	h.T.Helper()
	var tr TokenResponse
	status := h.PostForm("/token", url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {AppRedirect},
		"client_id": {client}, "code_verifier": {verifier},
	}, nil, &tr)
	return tr, status
}

// SignIn runs a login and redeems the code; it fails the test on any error.
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

// RefreshGrant redeems the refresh token rt at /token as the public
// client does.
func (h *Harness) RefreshGrant(client, rt string) (TokenResponse, int) {
	h.T.Helper()
	var tr TokenResponse
	status := h.PostForm("/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {client}}, nil, &tr)
	return tr, status
}

// TokenTenant reads, unverified, the tid claim of what looks like one of
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

// client is the harness's own HTTP client: http.DefaultClient's settings
// over Options.Transport.
func (h *Harness) client() *http.Client {
	return &http.Client{Transport: h.transport}
}

// Limited asserts a 429 with Retry-After in whole seconds, at most max.
func Limited(t *testing.T, r Reply, max int) {
	t.Helper()
	if r.Status != http.StatusTooManyRequests {
		t.Fatalf("status %d, want 429: %.200s", r.Status, r.Body)
	}
	secs, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || secs < 1 || secs > max {
		t.Errorf("Retry-After %q, want whole seconds from 1 to %d", r.Header.Get("Retry-After"), max)
	}
}

// JSONLimited asserts a 429 body in the RFC 6749 error shape.
func JSONLimited(t *testing.T, r Reply) {
	t.Helper()
	var body map[string]string
	if err := json.Unmarshal([]byte(r.Body), &body); err != nil || body["error"] != "rate_limited" || body["error_description"] == "" {
		t.Errorf("429 body %q, want an RFC 6749-style JSON error", r.Body)
	}
}
