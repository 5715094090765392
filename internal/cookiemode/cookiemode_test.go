package cookiemode_test

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/socialbroker/broker/internal/server"
	"github.com/socialbroker/broker/internal/server/servertest"
)

// cookieTenantTOML registers a public SPA whose refresh tokens travel only
// in cookies.
const cookieTenantTOML = `
[[tenants]]
id = "cookie-spa"
name = "Cookie SPA"
redirect_uris = ["http://127.0.0.1:5173/callback"]
allowed_origins = ["http://127.0.0.1:5173"]
providers = ["github"]
refresh_token_delivery = "cookie"
`

const (
	cookieApp    = "cookie-spa"
	cookieOrigin = "http://127.0.0.1:5173"
	cookieName   = "broker_refresh_cookie-spa"
)

// cookieBrowser is the SPA's page in a browser: a cookie jar that applies
// Path like a browser does, and the headers the JS client sends.
type cookieBrowser struct {
	t      *testing.T
	base   string // the broker
	origin string
	client *http.Client
	jar    *cookiejar.Jar
}

func newCookieBrowser(t *testing.T, base string, client *http.Client) *cookieBrowser {
	jar, _ := cookiejar.New(nil)
	c := *client
	c.Jar = jar
	return &cookieBrowser{t: t, base: base, origin: cookieOrigin, client: &c, jar: jar}
}

// reply is one answer: status, raw JSON members, Set-Cookie headers.
type cookieReply struct {
	status  int
	body    map[string]json.RawMessage
	raw     string
	cookies []*http.Cookie
}

func (r cookieReply) str(k string) string {
	var s string
	_ = json.Unmarshal(r.body[k], &s)
	return s
}

// post sends a POST the way the JS client does in cookie mode; hdr
// overrides (an empty value deletes a header).
func (b *cookieBrowser) post(path string, form url.Values, hdr map[string]string) cookieReply {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", b.origin)
	req.Header.Set("X-Broker-CSRF", "1")
	req.Header.Set("X-Tenant-ID", cookieApp)
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := cookieReply{status: resp.StatusCode, raw: string(raw), cookies: resp.Cookies()}
	if err := json.Unmarshal(raw, &r.body); err != nil {
		b.t.Fatalf("POST %s: status %d, body %q is not a JSON object", path, resp.StatusCode, raw)
	}
	return r
}

// sentTo is the refresh cookie the browser would send to path, or "".
func (b *cookieBrowser) sentTo(path string) string {
	u, _ := url.Parse(b.base + path)
	for _, c := range b.jar.Cookies(u) {
		if strings.HasSuffix(c.Name, cookieName) {
			return c.Value
		}
	}
	return ""
}

// signIn runs a GitHub sign-in for the cookie tenant on the broker at
// base and redeems the code as the SPA does.
func (b *cookieBrowser) signIn(h *servertest.Harness) cookieReply {
	b.t.Helper()
	p := servertest.NewPKCE()
	h.SetNextUser("github", servertest.Alice)
	nav := &servertest.Browser{T: b.t, Client: &http.Client{Jar: b.jar, Transport: b.client.Transport, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	start := strings.Replace(h.AuthorizeURL("/auth/github/login", cookieApp, p, nil), h.Issuer, b.base, 1)
	q := nav.Follow(start)
	if q.Get("code") == "" {
		b.t.Fatalf("login: no code: %v", q)
	}
	return b.post("/token", url.Values{
		"grant_type": {"authorization_code"}, "code": {q.Get("code")}, "redirect_uri": {servertest.AppRedirect},
		"client_id": {cookieApp}, "code_verifier": {p.Verifier},
	}, nil)
}

// checkRefreshCookies asserts the two Set-Cookie headers that deliver a
// refresh token, and returns its value.
func checkRefreshCookies(t *testing.T, got []*http.Cookie, name string, secure bool, maxTTL time.Duration) string {
	t.Helper()
	var paths []string
	value := ""
	for _, c := range got {
		if c.Name != name {
			continue
		}
		paths = append(paths, c.Path)
		if value == "" {
			value = c.Value
		}
		switch {
		case c.Value == "" || c.Value != value:
			t.Errorf("cookie %s (Path=%s) value %q, want the same non-empty token on every path", c.Name, c.Path, c.Value)
		case !c.HttpOnly:
			t.Errorf("cookie Path=%s is not HttpOnly: page script could read the refresh token", c.Path)
		case c.Secure != secure:
			t.Errorf("cookie Path=%s Secure = %v, want %v", c.Path, c.Secure, secure)
		case c.SameSite != http.SameSiteStrictMode:
			t.Errorf("cookie Path=%s SameSite = %v, want Strict", c.Path, c.SameSite)
		case c.Domain != "":
			t.Errorf("cookie Path=%s Domain = %q, want none (host-only)", c.Path, c.Domain)
		case c.MaxAge <= 0 || time.Duration(c.MaxAge)*time.Second > maxTTL:
			t.Errorf("cookie Path=%s Max-Age = %d, want 1..%v", c.Path, c.MaxAge, maxTTL)
		}
	}
	slices.Sort(paths)
	if want := []string{"/auth/logout", "/auth/refresh"}; !slices.Equal(paths, want) {
		t.Errorf("%s cookies on paths %q, want exactly %q", name, paths, want)
	}
	return value
}

// noRefreshTokenIn fails if a JSON body carries a refresh token in any
// member, or the token's value anywhere.
func noRefreshTokenIn(t *testing.T, r cookieReply, token string) {
	t.Helper()
	for _, k := range []string{"refresh_token", "refreshToken"} {
		if _, ok := r.body[k]; ok {
			t.Errorf("body has %q in cookie mode: %s", k, r.raw)
		}
	}
	if token != "" && strings.Contains(r.raw, token) {
		t.Errorf("body contains the refresh token's value: %s", r.raw)
	}
}

func TestCookieModeCodeExchange(t *testing.T) {
	h := servertest.New(t, cookieTenantTOML)
	b := newCookieBrowser(t, h.Issuer, http.DefaultClient)
	r := b.signIn(h)
	if r.status != http.StatusOK || r.str("access_token") == "" || r.str("token_type") != "Bearer" {
		t.Fatalf("/token: status %d body %s, want 200 with an access token", r.status, r.raw)
	}
	rt := checkRefreshCookies(t, r.cookies, cookieName, false, h.Cfg.Tokens.RefreshIdleTTL.Duration)
	noRefreshTokenIn(t, r, rt)

	// Scoped: the browser sends it to refresh and logout, nowhere else.
	if b.sentTo("/auth/refresh") != rt || b.sentTo("/auth/logout") != rt {
		t.Error("the refresh cookie is not sent to /auth/refresh and /auth/logout")
	}
	for _, p := range []string{"/token", "/auth/me", "/auth/check", "/auth/refreshx", "/logout", "/"} {
		if b.sentTo(p) != "" {
			t.Errorf("the refresh cookie would be sent to %s", p)
		}
	}

	// The access token works as in body mode.
	var me struct{ Email string }
	if status, _ := h.GetBearer("/auth/me", r.str("access_token"), &me); status != http.StatusOK || me.Email != servertest.Alice.Email {
		t.Errorf("/auth/me: status %d, email %q", status, me.Email)
	}

	// A body-mode tenant still gets its refresh token in the body.
	tr := h.SignIn("github", "spa", servertest.Alice)
	if tr.RefreshToken == "" {
		t.Error("body-mode tenant: no refresh_token in the /token body")
	}
}

// The code grant of a cookie-mode tenant is guarded like refresh: a
// forged cross-site redemption would plant the attacker's session.
func TestCookieModeTokenDemandsCSRFHeaderAndOrigin(t *testing.T) {
	h := servertest.New(t, cookieTenantTOML)
	b := newCookieBrowser(t, h.Issuer, http.DefaultClient)
	p := servertest.NewPKCE()
	q := h.Login(h.NewBrowser(), "github", cookieApp, servertest.Alice, p)
	form := url.Values{
		"grant_type": {"authorization_code"}, "code": {q.Get("code")}, "redirect_uri": {servertest.AppRedirect},
		"client_id": {cookieApp}, "code_verifier": {p.Verifier},
	}
	for name, hdr := range map[string]map[string]string{
		"no csrf header":   {"X-Broker-CSRF": ""},
		"csrf header 0":    {"X-Broker-CSRF": "0"},
		"no origin":        {"Origin": ""},
		"foreign origin":   {"Origin": "https://evil.test"},
		"sibling port":     {"Origin": "http://127.0.0.1:5174"},
		"origin of broker": {"Origin": h.Issuer},
	} {
		r := b.post("/token", form, hdr)
		if r.status != http.StatusForbidden || r.str("error") != "invalid_request" || r.str("error_description") == "" {
			t.Errorf("%s: status %d body %s, want 403 invalid_request", name, r.status, r.raw)
		}
		if len(r.cookies) != 0 {
			t.Errorf("%s: refused request set cookies %v", name, r.cookies)
		}
	}
	// The refusals happen before the code is touched: it still works.
	if r := b.post("/token", form, nil); r.status != http.StatusOK {
		t.Errorf("/token after refusals: status %d body %s", r.status, r.raw)
	}
}

func TestCookieModeRefresh(t *testing.T) {
	h := servertest.New(t, cookieTenantTOML)
	b := newCookieBrowser(t, h.Issuer, http.DefaultClient)
	first := checkRefreshCookies(t, b.signIn(h).cookies, cookieName, false, time.Hour*24*365)

	seen := map[string]bool{first: true}
	for i := range 3 {
		r := b.post("/auth/refresh", nil, nil)
		if r.status != http.StatusOK || r.str("accessToken") == "" || r.str("tokenType") != "Bearer" {
			t.Fatalf("refresh %d: status %d body %s", i, r.status, r.raw)
		}
		rt := checkRefreshCookies(t, r.cookies, cookieName, false, h.Cfg.Tokens.RefreshIdleTTL.Duration)
		noRefreshTokenIn(t, r, rt)
		if seen[rt] {
			t.Fatalf("refresh %d: the cookie was not rotated", i)
		}
		seen[rt] = true
		if b.sentTo("/auth/refresh") != rt {
			t.Fatalf("refresh %d: the browser did not take the rotated cookie", i)
		}
		if status, _ := h.GetBearer("/auth/check", r.str("accessToken"), nil); status != http.StatusOK {
			t.Fatalf("refresh %d: new access token: /auth/check status %d", i, status)
		}
	}

	// Reuse detection still applies to cookies: the first token, replayed
	// after the grace, kills the session and clears the cookies.
	h.Clock.Advance(h.Cfg.Tokens.RefreshReuseGrace.Duration + time.Second)
	replay := &http.Cookie{Name: cookieName, Value: first}
	req, _ := http.NewRequest(http.MethodPost, h.Issuer+"/auth/refresh", nil)
	req.Header.Set("Origin", cookieOrigin)
	req.Header.Set("X-Broker-CSRF", "1")
	req.Header.Set("X-Tenant-ID", cookieApp)
	req.AddCookie(replay)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("replayed cookie: status %d, want 401", resp.StatusCode)
	}
	cleared := 0
	for _, c := range resp.Cookies() {
		if c.Name == cookieName && c.MaxAge < 0 && c.Value == "" {
			cleared++
		}
	}
	if cleared != 2 {
		t.Errorf("replayed cookie: %d cookies cleared, want 2", cleared)
	}
	if r := b.post("/auth/refresh", nil, nil); r.status != http.StatusUnauthorized || r.str("error") != "invalid_grant" {
		t.Errorf("refresh after theft detection: status %d body %s, want 401 invalid_grant", r.status, r.raw)
	}
}

func TestCookieModeRefreshDemandsCSRFHeaderAndOrigin(t *testing.T) {
	h := servertest.New(t, cookieTenantTOML)
	b := newCookieBrowser(t, h.Issuer, http.DefaultClient)
	rt := checkRefreshCookies(t, b.signIn(h).cookies, cookieName, false, time.Hour*24*365)
	for name, hdr := range map[string]map[string]string{
		"no csrf header": {"X-Broker-CSRF": ""},
		"csrf header 0":  {"X-Broker-CSRF": "true"},
		"no origin":      {"Origin": ""},
		"foreign origin": {"Origin": "https://evil.test"},
		"null origin":    {"Origin": "null"},
	} {
		r := b.post("/auth/refresh", nil, hdr)
		if r.status != http.StatusForbidden || r.str("message") == "" {
			t.Errorf("%s: status %d body %s, want 403 with a message", name, r.status, r.raw)
		}
		if len(r.cookies) != 0 {
			t.Errorf("%s: refused refresh set cookies", name)
		}
	}
	// Without X-Tenant-ID the request names no cookie-mode app: the cookie
	// is ignored and the body must carry a token.
	if r := b.post("/auth/refresh", nil, map[string]string{"X-Tenant-ID": ""}); r.status != http.StatusUnauthorized || r.str("error") != "invalid_request" {
		t.Errorf("no X-Tenant-ID: status %d body %s, want 401 invalid_request", r.status, r.raw)
	}
	// Naming a body-mode app does not make its refresh read the cookie.
	if r := b.post("/auth/refresh", nil, map[string]string{"X-Tenant-ID": "spa"}); r.status != http.StatusUnauthorized || r.str("error") != "invalid_request" {
		t.Errorf("X-Tenant-ID of a body-mode app: status %d body %s, want 401 invalid_request", r.status, r.raw)
	}
	// No cookie at all: sign in again.
	nb := newCookieBrowser(t, h.Issuer, http.DefaultClient)
	if r := nb.post("/auth/refresh", nil, nil); r.status != http.StatusUnauthorized || r.str("error") != "invalid_grant" {
		t.Errorf("no cookie: status %d body %s, want 401 invalid_grant", r.status, r.raw)
	}
	// None of the refusals spent the token.
	if b.sentTo("/auth/refresh") != rt {
		t.Fatal("a refused request changed the cookie")
	}
	if r := b.post("/auth/refresh", nil, nil); r.status != http.StatusOK {
		t.Errorf("refresh after refusals: status %d body %s", r.status, r.raw)
	}
}

func TestCookieModeLogout(t *testing.T) {
	h := servertest.New(t, cookieTenantTOML)
	b := newCookieBrowser(t, h.Issuer, http.DefaultClient)
	signed := b.signIn(h)
	access := signed.str("access_token")
	rt := b.sentTo("/auth/logout")

	// A forged logout is refused and revokes nothing.
	for name, hdr := range map[string]map[string]string{
		"no csrf header": {"X-Broker-CSRF": ""},
		"foreign origin": {"Origin": "https://evil.test"},
		"no origin":      {"Origin": ""},
	} {
		if r := b.post("/auth/logout", nil, hdr); r.status != http.StatusForbidden || len(r.cookies) != 0 {
			t.Errorf("%s: status %d cookies %v, want 403 and none", name, r.status, r.cookies)
		}
	}
	if status, _ := h.GetBearer("/auth/check", access, nil); status != http.StatusOK {
		t.Fatalf("after refused logouts: /auth/check status %d, want 200", status)
	}

	r := b.post("/auth/logout", nil, nil)
	if r.status != http.StatusOK || string(r.body["success"]) != "true" {
		t.Fatalf("logout: status %d body %s", r.status, r.raw)
	}
	var paths []string
	for _, c := range r.cookies {
		if c.Name == cookieName && c.Value == "" && c.MaxAge < 0 {
			paths = append(paths, c.Path)
		}
	}
	slices.Sort(paths)
	if want := []string{"/auth/logout", "/auth/refresh"}; !slices.Equal(paths, want) {
		t.Errorf("logout cleared cookies on %q, want %q", paths, want)
	}
	if b.sentTo("/auth/refresh") != "" || b.sentTo("/auth/logout") != "" {
		t.Error("the browser still holds a refresh cookie after logout")
	}

	// Revoked: the access token and the refresh token both fail.
	var check map[string]any
	if status, _ := h.GetBearer("/auth/check", access, &check); status != http.StatusUnauthorized || check["error"] != "invalid_token" {
		t.Errorf("/auth/check after logout: status %d %v, want 401 invalid_token", status, check)
	}
	replay := b.post("/auth/refresh", nil, nil) // the jar is empty now: send the old token by hand
	if replay.status != http.StatusUnauthorized {
		t.Errorf("refresh with no cookie after logout: status %d", replay.status)
	}
	b.jar.SetCookies(&url.URL{Scheme: "http", Host: strings.TrimPrefix(h.Issuer, "http://"), Path: "/auth/refresh"},
		[]*http.Cookie{{Name: cookieName, Value: rt, Path: "/auth/refresh"}})
	if r := b.post("/auth/refresh", nil, nil); r.status != http.StatusUnauthorized || r.str("error") != "invalid_grant" {
		t.Errorf("old refresh cookie after logout: status %d body %s, want 401 invalid_grant", r.status, r.raw)
	}

	// Logging out again is idempotent.
	if r := b.post("/auth/logout", nil, nil); r.status != http.StatusOK {
		t.Errorf("second logout: status %d body %s", r.status, r.raw)
	}
}

// Logout with only the bearer token (the cookie already gone) still
// revokes the session.
func TestCookieModeLogoutWithBearer(t *testing.T) {
	h := servertest.New(t, cookieTenantTOML)
	b := newCookieBrowser(t, h.Issuer, http.DefaultClient)
	access := b.signIn(h).str("access_token")
	nb := newCookieBrowser(t, h.Issuer, http.DefaultClient) // no cookies
	if r := nb.post("/auth/logout", nil, map[string]string{"Authorization": "Bearer " + access}); r.status != http.StatusOK {
		t.Fatalf("logout: status %d body %s", r.status, r.raw)
	}
	if status, _ := h.GetBearer("/auth/check", access, nil); status != http.StatusUnauthorized {
		t.Errorf("/auth/check after bearer logout: status %d, want 401", status)
	}
	if r := b.post("/auth/refresh", nil, nil); r.status != http.StatusUnauthorized {
		t.Errorf("refresh after bearer logout: status %d, want 401", r.status)
	}
}

// The preflight lets the custom header through for an allowed origin.
func TestCookieModePreflight(t *testing.T) {
	h := servertest.New(t, cookieTenantTOML)
	req, _ := http.NewRequest(http.MethodOptions, h.Issuer+"/auth/refresh", nil)
	req.Header.Set("Origin", cookieOrigin)
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "x-broker-csrf, x-tenant-id")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	allow := strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers"))
	if resp.StatusCode != http.StatusNoContent || !strings.Contains(allow, "x-broker-csrf") ||
		resp.Header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Errorf("preflight: status %d, Allow-Headers %q, Allow-Credentials %q", resp.StatusCode, allow, resp.Header.Get("Access-Control-Allow-Credentials"))
	}
}

// Over https the cookies are Secure and carry the __Secure- prefix (not
// __Host-, which would force Path=/), and still work.
func TestCookieModeHTTPS(t *testing.T) {
	h := servertest.New(t, cookieTenantTOML)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := *h.Cfg
	cfg.Issuer = "https://" + l.Addr().String()
	cfg.Tenants = slices.Clone(cfg.Tenants)
	for i := range cfg.Tenants {
		if cfg.Tenants[i].ID == cookieApp {
			cfg.Tenants[i].AllowedOrigins = []string{"https://127.0.0.1:5173"}
		}
	}
	srv, err := server.New(t.Context(), &cfg, server.Options{Logger: servertest.NewLogger(h.Logs), Now: h.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	ts := httptest.NewUnstartedServer(srv.Handler())
	ts.Listener.Close()
	ts.Listener = l
	ts.StartTLS()
	t.Cleanup(ts.Close)

	b := newCookieBrowser(t, cfg.Issuer, ts.Client())
	b.origin = "https://127.0.0.1:5173"
	r := b.signIn(h)
	if r.status != http.StatusOK {
		t.Fatalf("/token over https: status %d body %s", r.status, r.raw)
	}
	checkRefreshCookies(t, r.cookies, "__Secure-"+cookieName, true, cfg.Tokens.RefreshIdleTTL.Duration)
	if r := b.post("/auth/refresh", nil, nil); r.status != http.StatusOK {
		t.Errorf("refresh over https: status %d body %s", r.status, r.raw)
	} else {
		checkRefreshCookies(t, r.cookies, "__Secure-"+cookieName, true, cfg.Tokens.RefreshIdleTTL.Duration)
	}
}
