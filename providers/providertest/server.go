package providertest

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"
)

// core is what both fakes share: the server, the fault knobs, the users and
// the books of codes and access tokens.
type core struct {
	srv          *httptest.Server // nil when mounted (a URL option)
	url          string           // base URL, without trailing slash
	handler      http.Handler
	title        string
	clientID     string
	clientSecret string
	redirectURIs []string
	users        []User
	now          func() time.Time
	// grantTypeOptional accepts token requests without grant_type, as
	// GitHub does.
	grantTypeOptional bool
	// responseIss, when set, is sent as iss in every authorization
	// response (RFC 9207 §2).
	responseIss string
	// responseIssOf, when set, is the iss of a successful authorization
	// response for u (Microsoft: the user's directory's issuer).
	responseIssOf func(u User) string
	// formPost answers authorization requests with an auto-submitting
	// form that POSTs the response to the redirect URI
	// (response_mode=form_post, as Apple does) instead of a redirect.
	formPost bool
	// formExtra adds parameters to a successful form-post response
	// (Apple's user field).
	formExtra func(u User) url.Values
	// secretOK, when set, judges the client secret instead of comparing
	// it with clientSecret (Apple's signed JWT).
	secretOK func(secret string) bool
	// postOnly refuses client_secret_basic (LinkedIn, Facebook).
	postOnly bool
	// refusesPKCE ignores the authorization request's code_challenge and
	// fails client authentication when a token request carries a
	// code_verifier, as LinkedIn does with confidential clients.
	refusesPKCE bool

	mu       sync.Mutex
	next     *User
	delay    time.Duration
	down     bool
	tokenErr string
	codes    map[string]*grant
	spent    map[string]string // redeemed code → the access token it bought
	tokens   map[string]*grant // access token → what it grants
}

// grant is one authorization: first behind a code, then behind an access
// token.
type grant struct {
	user        User
	redirectURI string // as sent to the authorization endpoint
	challenge   string // PKCE S256 code_challenge
	nonce       string
	scopes      []string
	expires     time.Time
}

const (
	codeTTL  = 10 * time.Minute // RFC 6749 §4.1.2 recommends at most ten
	tokenTTL = time.Hour
)

func newCore(title, clientID, clientSecret string, redirectURIs []string, users []User, now func() time.Time) *core {
	if now == nil {
		now = time.Now
	}
	return &core{
		title: title, clientID: clientID, clientSecret: clientSecret,
		redirectURIs: slices.Clone(redirectURIs), users: slices.Clone(users), now: now,
		codes: map[string]*grant{}, spent: map[string]string{}, tokens: map[string]*grant{},
	}
}

// start serves h on a server of its own on 127.0.0.1 or, when mountURL
// is set, only prepares it for the caller to serve at mountURL. c.url and
// c.srv are set before any request can arrive, so handlers may read them
// without locking.
func (c *core) start(h http.Handler, mountURL string) {
	c.handler = c.faulty(h)
	if mountURL != "" {
		c.url = strings.TrimRight(mountURL, "/")
		return
	}
	c.srv = httptest.NewUnstartedServer(c.handler)
	c.srv.Start()
	c.url = c.srv.URL
}

func (c *core) close() {
	if c.srv != nil {
		c.srv.Close()
	}
}

func (c *core) setNextUser(u User)        { c.locked(func() { c.next = &u }) }
func (c *core) setDelay(d time.Duration)  { c.locked(func() { c.delay = d }) }
func (c *core) setDown(down bool)         { c.locked(func() { c.down = down }) }
func (c *core) setTokenError(code string) { c.locked(func() { c.tokenErr = code }) }

func (c *core) locked(fn func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	fn()
}

func (c *core) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.next, c.delay, c.down, c.tokenErr = nil, 0, false, ""
}

func (c *core) tokenError() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.tokenErr
}

// faulty applies the Delay and Down knobs before h sees a request.
func (c *core) faulty(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		delay, down := c.delay, c.down
		c.mu.Unlock()
		if delay > 0 {
			// net/http notices a client hanging up only once the request
			// body is read, so read it now and replay it to h.
			body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
			if err != nil {
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			t := time.NewTimer(delay)
			defer t.Stop()
			select {
			case <-t.C:
			case <-r.Context().Done(): // the client gave up; so does the fake
				return
			}
		}
		if down {
			// Like a crashed upstream: the connection drops without an answer.
			if hj, ok := w.(http.Hijacker); ok {
				if conn, _, err := hj.Hijack(); err == nil {
					conn.Close()
					return
				}
			}
			http.Error(w, "fake upstream is down", http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// clientRedirect checks client_id and redirect_uri, which the authorization
// server must do before it may redirect anywhere (RFC 6749 §4.1.2.1): when
// either is wrong it answers an error page itself and returns ok false.
// An absent redirect_uri means the first registered one when fallback is set
// (GitHub's behaviour).
func (c *core) clientRedirect(w http.ResponseWriter, q url.Values, fallback bool) (redirectURI string, ok bool) {
	if q.Get("client_id") != c.clientID {
		c.errorPage(w, "unknown client_id")
		return "", false
	}
	redirectURI = q.Get("redirect_uri")
	if redirectURI == "" && fallback && len(c.redirectURIs) > 0 {
		return c.redirectURIs[0], true
	}
	u, err := url.Parse(redirectURI)
	switch {
	case err != nil || !u.IsAbs() || u.Fragment != "":
		c.errorPage(w, "redirect_uri must be an absolute URL without fragment")
		return "", false
	case len(c.redirectURIs) > 0 && !slices.Contains(c.redirectURIs, redirectURI):
		c.errorPage(w, "redirect_uri is not registered for this client")
		return "", false
	}
	return redirectURI, true
}

// approve ends an accepted authorization request: it checks PKCE, picks the
// user (chosen on the chooser page, else the next user, else it shows the
// chooser) and redirects back with a fresh code.
func (c *core) approve(w http.ResponseWriter, r *http.Request, redirectURI string, g *grant) {
	q := r.URL.Query()
	state := q.Get("state")
	// This fake insists on PKCE S256, as the broker sends it to every
	// upstream but LinkedIn (RFC 7636 §4.3; a challenge is 43 base64url
	// characters).
	if !c.refusesPKCE && (q.Get("code_challenge_method") != "S256" || !pkceChars.MatchString(q.Get("code_challenge")) ||
		len(q.Get("code_challenge")) != 43) {
		c.back(w, r, redirectURI, url.Values{"error": {"invalid_request"},
			"error_description": {"PKCE code_challenge with code_challenge_method=S256 is required"}, "state": {state}, "iss": {c.responseIss}})
		return
	}
	if q.Has("deny") {
		c.back(w, r, redirectURI, url.Values{"error": {"access_denied"},
			"error_description": {"the user refused"}, "state": {state}, "iss": {c.responseIss}})
		return
	}
	var user *User
	if sub := q.Get("login_as"); sub != "" {
		i := slices.IndexFunc(c.users, func(u User) bool { return u.Subject == sub })
		if i < 0 {
			c.errorPage(w, "no such user")
			return
		}
		user = &c.users[i]
	} else {
		c.mu.Lock()
		user, c.next = c.next, nil
		c.mu.Unlock()
	}
	if user == nil {
		c.chooser(w, r)
		return
	}
	g.user, g.redirectURI, g.challenge = *user, q.Get("redirect_uri"), q.Get("code_challenge")
	g.expires = c.now().Add(codeTTL)
	code := rand.Text()
	c.mu.Lock()
	c.codes[code] = g
	c.mu.Unlock()
	params := url.Values{"code": {code}, "state": {state}, "iss": {c.responseIss}}
	if c.responseIssOf != nil && c.responseIss != "" {
		params.Set("iss", c.responseIssOf(*user))
	}
	if c.formPost && c.formExtra != nil {
		for k, v := range c.formExtra(*user) {
			params[k] = v
		}
	}
	c.back(w, r, redirectURI, params)
}

// back returns the authorization response to the client: a redirect, or
// a self-submitting form (OAuth 2.0 Form Post Response Mode §2).
func (c *core) back(w http.ResponseWriter, r *http.Request, redirectURI string, params url.Values) {
	if !c.formPost {
		redirectBack(w, r, redirectURI, params)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = formPostPage.Execute(w, struct {
		Title, Action string
		Params        url.Values
	}{c.title, redirectURI, params})
}

// redeem authenticates the client and spends a code (RFC 6749 §4.1.3). On
// failure it returns an RFC 6749 §5.2 error code and a description.
func (c *core) redeem(r *http.Request) (g *grant, errCode, desc string) {
	if r.Method != http.MethodPost {
		return nil, "invalid_request", "POST required"
	}
	if err := r.ParseForm(); err != nil {
		return nil, "invalid_request", "malformed form"
	}
	if gt := r.PostForm.Get("grant_type"); gt != "authorization_code" && (gt != "" || !c.grantTypeOptional) {
		return nil, "unsupported_grant_type", "only authorization_code"
	}
	id, secret, ok := clientCredentials(r)
	if _, _, basic := r.BasicAuth(); basic && c.postOnly {
		return nil, "invalid_client", "client_secret_post is required"
	}
	secretOK := subtle.ConstantTimeCompare([]byte(secret), []byte(c.clientSecret)) == 1
	if c.secretOK != nil {
		secretOK = c.secretOK(secret)
	}
	if !ok || id != c.clientID || !secretOK || (c.refusesPKCE && r.PostForm.Has("code_verifier")) {
		return nil, "invalid_client", "client authentication failed"
	}
	code := r.PostForm.Get("code")
	c.mu.Lock()
	defer c.mu.Unlock()
	g = c.codes[code]
	delete(c.codes, code)
	switch {
	case g == nil:
		// A code presented twice was probably stolen: RFC 6749 §4.1.2 asks
		// to revoke what its first use bought.
		if tok, ok := c.spent[code]; ok {
			delete(c.tokens, tok)
		}
		return nil, "invalid_grant", "unknown or used code"
	case c.now().After(g.expires):
		return nil, "invalid_grant", "expired code"
	case r.PostForm.Get("redirect_uri") != g.redirectURI:
		return nil, "invalid_grant", descRedirectMismatch
	case !c.refusesPKCE && !verifierMatches(r.PostForm.Get("code_verifier"), g.challenge):
		return nil, "invalid_grant", "code_verifier does not match the code_challenge"
	}
	c.spent[code] = "" // spent even before a token is issued
	return g, "", ""
}

// issue mints a random access token, starting with prefix, for a grant
// redeemed with code.
func (c *core) issue(prefix, code string, g *grant) string {
	tok := prefix + rand.Text()
	at := *g
	at.expires = c.now().Add(tokenTTL)
	c.mu.Lock()
	c.tokens[tok] = &at
	c.spent[code] = tok
	c.mu.Unlock()
	return tok
}

// bearer returns the grant behind the request's access token (RFC 6750 §2.1;
// GitHub also accepts the "token" scheme).
func (c *core) bearer(r *http.Request) (*grant, bool) {
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") && !strings.EqualFold(scheme, "token") {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	g, ok := c.tokens[tok]
	if !ok || c.now().After(g.expires) {
		return nil, false
	}
	return g, true
}

// clientCredentials reads client_secret_basic or client_secret_post; using
// both at once is an error (RFC 6749 §2.3). Basic credentials are
// form-urlencoded first (§2.3.1).
func clientCredentials(r *http.Request) (id, secret string, ok bool) {
	user, pass, basic := r.BasicAuth()
	if !basic {
		return r.PostForm.Get("client_id"), r.PostForm.Get("client_secret"), true
	}
	if r.PostForm.Has("client_secret") {
		return "", "", false
	}
	id, err1 := url.QueryUnescape(user)
	secret, err2 := url.QueryUnescape(pass)
	if p := r.PostForm.Get("client_id"); p != "" && p != id {
		return "", "", false
	}
	return id, secret, err1 == nil && err2 == nil
}

const descRedirectMismatch = "redirect_uri differs from the authorization request's"

var pkceChars = regexp.MustCompile(`^[A-Za-z0-9._~-]+$`)

// verifierMatches checks a code_verifier (RFC 7636 §4.1: 43 to 128
// unreserved characters) against its S256 challenge (§4.6).
func verifierMatches(verifier, challenge string) bool {
	if len(verifier) < 43 || len(verifier) > 128 || !pkceChars.MatchString(verifier) {
		return false
	}
	sum := sha256.Sum256([]byte(verifier))
	got := base64.RawURLEncoding.EncodeToString(sum[:])
	return subtle.ConstantTimeCompare([]byte(got), []byte(challenge)) == 1
}

// redirectBack sends the browser to redirectURI with params added to its
// query.
func redirectBack(w http.ResponseWriter, r *http.Request, redirectURI string, params url.Values) {
	u, _ := url.Parse(redirectURI) // checked by clientRedirect
	q := u.Query()
	for k, vs := range params {
		if vs[0] != "" {
			q[k] = vs
		}
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
