package servertest

import (
	"crypto/rand"
	"encoding/base64"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/socialbroker/broker/providers/providertest"
	"github.com/socialbroker/broker/tokens"
)

// Browser is a user agent with its own cookie jar that does not follow
// redirects on its own, so each hop can be inspected.
type Browser struct {
	T      *testing.T
	Client *http.Client
}

// NewBrowser is a browser with an empty cookie jar.
func (h *Harness) NewBrowser() *Browser {
	jar, _ := cookiejar.New(nil)
	return &Browser{T: h.T, Client: &http.Client{
		Transport:     h.transport,
		Jar:           jar,
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Get fetches u without following a redirect; it fails the test on a
// transport error.
func (b *Browser) Get(u string) *http.Response {
	b.T.Helper()
	resp, err := b.Client.Get(u)
	if err != nil {
		b.T.Fatalf("GET %s: %v", u, err)
	}
	return resp
}

// PKCE is one app-side authorization request's secrets.
type PKCE struct {
	Verifier, Challenge, State, Nonce string
}

// NewPKCE makes fresh PKCE, state and nonce values (RFC 7636 §4.1).
func NewPKCE() PKCE {
	b := make([]byte, 32)
	rand.Read(b)
	v := base64.RawURLEncoding.EncodeToString(b)
	return PKCE{Verifier: v, Challenge: tokens.S256Challenge(v), State: tokens.NewOpaque(), Nonce: tokens.NewOpaque()}
}

// AuthorizeURL builds an app's authorization request.
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

// Follow walks redirects from u until one leaves for the app's redirect
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

// UpstreamRedirect starts a login and returns where the broker sends the
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

// Login runs a whole sign-in of user through provider for client and
// returns the app's redirect query (code, state, iss or error).
func (h *Harness) Login(b *Browser, provider, client string, user providertest.User, p PKCE) url.Values {
	h.T.Helper()
	h.SetNextUser(provider, user)
	return b.Follow(h.AuthorizeURL("/auth/"+provider+"/login", client, p, nil))
}

// SetNextUser makes u the user the named fake upstream signs in next.
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

// UpstreamCallback completes an upstream round trip by hand: it asks the fake to
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

// confirmField finds the logout confirmation form's hidden fields.
var confirmField = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// ConfirmLogout reads the sign-out confirmation page in resp (GET /logout
// without id_token_hint) and posts its form as the user's click would,
// from the broker's own page.
func (b *Browser) ConfirmLogout(issuer string, resp *http.Response) *http.Response {
	b.T.Helper()
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `action="/logout"`) {
		b.T.Fatalf("want the sign-out confirmation page, got %d:\n%s", resp.StatusCode, body)
	}
	form := url.Values{}
	for _, m := range confirmField.FindAllStringSubmatch(string(body), -1) {
		form.Set(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	req, _ := http.NewRequest(http.MethodPost, issuer+"/logout", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", issuer)
	out, err := b.Client.Do(req)
	if err != nil {
		b.T.Fatalf("POST /logout: %v", err)
	}
	return out
}
