package server_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/socialbroker/broker/internal/server/servertest"
	"github.com/socialbroker/broker/storage/postgres/pgtest"
	"github.com/socialbroker/broker/storage/sqlite"
	"github.com/socialbroker/broker/tokens"
)

// rp is an app's back-channel logout endpoint (OIDC Back-Channel Logout
// 1.0): it records every logout token POSTed to it and answers status.
type rp struct {
	srv    *httptest.Server
	status atomic.Int32
	// hang, when set, holds every request until it is closed.
	hang    chan struct{}
	entered chan struct{} // receives once per request that arrives
	mu      sync.Mutex
	tokens  []string
}

func newRP(t *testing.T) *rp {
	r := &rp{entered: make(chan struct{}, 100)}
	r.status.Store(http.StatusOK)
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodPost || req.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		tok := req.PostFormValue("logout_token")
		r.entered <- struct{}{}
		if r.hang != nil {
			<-r.hang
		}
		status := int(r.status.Load())
		if status == http.StatusOK {
			r.mu.Lock()
			r.tokens = append(r.tokens, tok)
			r.mu.Unlock()
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

// accepted are the logout tokens the app took (answered 200).
func (r *rp) accepted() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.tokens...)
}

// reset forgets the tokens accepted so far.
func (r *rp) reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tokens = nil
}

// waitAccepted waits for n accepted logout tokens and returns them. The
// deliverers poll every second.
func (r *rp) waitAccepted(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if got := r.accepted(); len(got) >= n {
			return got
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("app received %d logout tokens, want %d", len(r.accepted()), n)
	return nil
}

// ssoHarness is the harness with two more apps, "app-a" and "app-b",
// offering Google, each with a back-channel logout endpoint.
func ssoHarness(t *testing.T, dbURL string) (*servertest.Harness, *rp, *rp) {
	a, b := newRP(t), newRP(t)
	extra := fmt.Sprintf(`
[[tenants]]
id = "app-a"
redirect_uris = [%q]
post_logout_redirect_uris = ["http://127.0.0.1:5173/"]
providers = ["google"]
backchannel_logout_uri = %q
[[tenants]]
id = "app-b"
redirect_uris = [%q]
providers = ["google", "github"]
backchannel_logout_uri = %q
`, servertest.AppRedirect, a.srv.URL+"/backchannel", servertest.AppRedirect, b.srv.URL+"/backchannel")
	if dbURL == "" {
		return servertest.New(t, extra), a, b
	}
	return servertest.Start(t, servertest.Options{TOML: extra, DB: dbURL}), a, b
}

// upstreamCounter counts a browser's requests to one host.
type upstreamCounter struct {
	host string
	n    atomic.Int32
}

func (u *upstreamCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host == u.host {
		u.n.Add(1)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// googleCounted is a new browser whose trips to the fake Google are
// counted.
func googleCounted(h *servertest.Harness) (*servertest.Browser, *upstreamCounter) {
	b := h.NewBrowser()
	g, _ := url.Parse(h.Google.URL())
	c := &upstreamCounter{host: g.Host}
	b.Client.Transport = c
	return b, c
}

// codeFor runs an authorization request for client from browser b and
// returns the app's redirect query.
func codeFor(h *servertest.Harness, b *servertest.Browser, client string, p servertest.PKCE, extra url.Values) url.Values {
	h.T.Helper()
	return b.Follow(h.AuthorizeURL("/authorize", client, p, extra))
}

// signInSSO signs alice in to app-a through Google in browser b and
// redeems the code.
func signInSSO(h *servertest.Harness, b *servertest.Browser, client string) servertest.TokenResponse {
	h.T.Helper()
	p := servertest.NewPKCE()
	q := h.Login(b, "google", client, servertest.Alice, p)
	return mustRedeem(h, client, q, p)
}

func mustRedeem(h *servertest.Harness, client string, q url.Values, p servertest.PKCE) servertest.TokenResponse {
	h.T.Helper()
	if q.Get("error") != "" || q.Get("code") == "" {
		h.T.Fatalf("%s: error=%s (%s), want a code", client, q.Get("error"), q.Get("error_description"))
	}
	tr, status := h.Redeem(client, q.Get("code"), p.Verifier)
	if status != http.StatusOK {
		h.T.Fatalf("redeem for %s: %d %+v", client, status, tr)
	}
	return tr
}

func TestSSOSecondAppWithoutUpstream(t *testing.T) {
	h, _, _ := ssoHarness(t, "")
	b, google := googleCounted(h)
	ta := signInSSO(h, b, "app-a")
	if google.n.Load() == 0 {
		t.Fatal("the first sign-in did not go to Google")
	}
	before := google.n.Load()

	// app-b offers Google too: a code at once, no trip upstream, as soon
	// as it names the provider.
	p := servertest.NewPKCE()
	tb := mustRedeem(h, "app-b", codeFor(h, b, "app-b", p, url.Values{"provider": {"google"}}), p)
	if n := google.n.Load(); n != before {
		t.Errorf("app-b's sign-in made %d requests to Google, want none", n-before)
	}
	ida, idb := servertest.PayloadOf(t, ta.IDToken), servertest.PayloadOf(t, tb.IDToken)
	if ida["sub"] != idb["sub"] || ida["auth_time"] != idb["auth_time"] {
		t.Errorf("app-b's ID token: sub %v auth_time %v, want app-a's %v and %v (auth_time is the trip upstream)",
			idb["sub"], idb["auth_time"], ida["sub"], ida["auth_time"])
	}
	if ida["sid"] == idb["sid"] || idb["sid"] == "" || idb["nonce"] != p.Nonce {
		t.Errorf("app-b's ID token: sid %v nonce %v, want a session of its own and its nonce", idb["sid"], idb["nonce"])
	}
	if status, _ := h.GetBearer("/auth/check", tb.AccessToken, nil); status != http.StatusOK {
		t.Errorf("app-b's token: /auth/check %d", status)
	}

	// Naming no provider, app-b (two providers) shows its chooser, with
	// "Continue as" first, leading to a code without Google.
	resp := b.Get(h.AuthorizeURL("/authorize", "app-b", servertest.NewPKCE(), nil))
	page := servertest.ReadAll(t, resp)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "Continue as alice@acme.test") ||
		strings.Index(page, "Continue as") > strings.Index(page, "Sign in with GitHub") {
		t.Fatalf("chooser: %d, want \"Continue as alice@acme.test\" first:\n%s", resp.StatusCode, page)
	}
	if !strings.Contains(page, "prompt=select_account") {
		t.Error("chooser: the Google button does not ask Google for another account")
	}
	if n := google.n.Load(); n != before {
		t.Errorf("%d requests to Google, want none", n-before)
	}

	// orgs offers only GitHub: the broker session cannot serve it.
	resp = b.Get(h.AuthorizeURL("/authorize", "orgs", servertest.NewPKCE(), nil))
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, h.GitHub.BaseURL()) {
		t.Errorf("orgs: %d %s, want a trip to GitHub", resp.StatusCode, loc)
	}
}

func TestPromptNone(t *testing.T) {
	h, _, _ := ssoHarness(t, "")
	none := url.Values{"prompt": {"none"}}
	b, google := googleCounted(h)

	p := servertest.NewPKCE()
	q := codeFor(h, b, "app-a", p, none)
	if q.Get("error") != "login_required" || q.Get("state") != p.State || q.Get("iss") != h.Issuer {
		t.Fatalf("prompt=none without a broker session: %v, want error=login_required with state and iss", q)
	}

	signInSSO(h, b, "app-a")
	before := google.n.Load()
	p = servertest.NewPKCE()
	mustRedeem(h, "app-b", codeFor(h, b, "app-b", p, none), p)
	if n := google.n.Load(); n != before {
		t.Errorf("prompt=none went to Google %d times", n-before)
	}

	for _, tt := range []struct {
		name, client string
		extra        url.Values
		want         string
	}{
		{"max_age=0", "app-a", url.Values{"prompt": {"none"}, "max_age": {"0"}}, "login_required"},
		{"login_hint of another user", "app-a", url.Values{"prompt": {"none"}, "login_hint": {"bob@other.test"}}, "login_required"},
		// No Unicode case folding: acme.teſt (U+017F) is not acme.test.
		{"login_hint of a look-alike address", "app-a", url.Values{"prompt": {"none"}, "login_hint": {"alice@acme.te\u017ft"}}, "login_required"},
		{"app without the provider", "orgs", none, "interaction_required"},
		{"another provider named", "app-b", url.Values{"prompt": {"none"}, "provider": {"github"}}, "interaction_required"},
		{"none with login", "app-a", url.Values{"prompt": {"none login"}}, "invalid_request"},
		{"max_age not a number", "app-a", url.Values{"prompt": {"none"}, "max_age": {"soon"}}, "invalid_request"},
		{"max_age negative", "app-a", url.Values{"prompt": {"none"}, "max_age": {"-1"}}, "invalid_request"},
	} {
		q := codeFor(h, b, tt.client, servertest.NewPKCE(), tt.extra)
		if q.Get("error") != tt.want {
			t.Errorf("%s: %v, want error=%s", tt.name, q, tt.want)
		}
	}
	p = servertest.NewPKCE()
	q = codeFor(h, b, "app-a", p, url.Values{"prompt": {"none"}, "login_hint": {"ALICE@acme.test"}, "max_age": {"3600"}})
	mustRedeem(h, "app-a", q, p)
}

// max_age=0 and prompt=login send the browser upstream again, and the
// new sign-in's auth_time is the new trip's.
func TestReauthentication(t *testing.T) {
	h, _, _ := ssoHarness(t, "")
	b, google := googleCounted(h)
	first := servertest.PayloadOf(t, signInSSO(h, b, "app-a").IDToken)
	h.Clock.Advance(time.Minute)
	for _, extra := range []url.Values{{"max_age": {"0"}}, {"prompt": {"login"}}} {
		before := google.n.Load()
		p := servertest.NewPKCE()
		h.Google.SetNextUser(servertest.Alice)
		tr := mustRedeem(h, "app-a", codeFor(h, b, "app-a", p, extra), p)
		if google.n.Load() == before {
			t.Errorf("%v: no trip to Google", extra)
		}
		if got := servertest.PayloadOf(t, tr.IDToken)["auth_time"].(float64); got < first["auth_time"].(float64)+60 {
			t.Errorf("%v: auth_time %v, want the new trip's (first %v, a minute earlier)", extra, got, first["auth_time"])
		}
	}
}

// verifyLogoutToken checks raw as an app would, with go-oidc's verifier
// against the broker's published keys, and returns its claims.
func verifyLogoutToken(t *testing.T, h *servertest.Harness, base, raw, client string) map[string]any {
	t.Helper()
	ctx := context.Background()
	keys := oidc.NewRemoteKeySet(ctx, base+"/.well-known/jwks.json")
	v := oidc.NewVerifier(h.Cfg.Issuer, keys, &oidc.Config{
		ClientID: client, Now: h.Clock.Now, SupportedSigningAlgs: []string{h.Cfg.Tokens.SigningAlg},
	})
	if _, err := v.Verify(ctx, raw); err != nil {
		t.Fatalf("logout token for %s: %v", client, err)
	}
	if typ := servertest.HeaderOf(t, raw)["typ"]; typ != "logout+jwt" {
		t.Errorf("logout token typ = %v, want logout+jwt", typ)
	}
	c := servertest.PayloadOf(t, raw)
	events, _ := c["events"].(map[string]any)
	if _, ok := events[tokens.BackchannelLogoutEvent]; !ok {
		t.Errorf("logout token events = %v, want the back-channel logout event", c["events"])
	}
	if _, ok := c["nonce"]; ok {
		t.Error("logout token carries a nonce")
	}
	if c["jti"] == nil || c["iat"] == nil {
		t.Errorf("logout token lacks jti or iat: %v", c)
	}
	return c
}

// sessionOver checks that tr's session has ended: its access token and
// refresh token fail.
func sessionOver(h *servertest.Harness, client string, tr servertest.TokenResponse) {
	h.T.Helper()
	if status, _ := h.GetBearer("/auth/check", tr.AccessToken, nil); status != http.StatusUnauthorized {
		h.T.Errorf("%s's access token after logout: %d, want 401", client, status)
	}
	if _, status := h.RefreshGrant(client, tr.RefreshToken); status != http.StatusBadRequest {
		h.T.Errorf("%s's refresh after logout: %d, want 400", client, status)
	}
}

func TestLogoutScopes(t *testing.T) {
	h, rpa, rpb := ssoHarness(t, "")
	signInBoth := func() (*servertest.Browser, servertest.TokenResponse, servertest.TokenResponse) {
		b := h.NewBrowser()
		ta := signInSSO(h, b, "app-a")
		p := servertest.NewPKCE()
		tb := mustRedeem(h, "app-b", codeFor(h, b, "app-b", p, url.Values{"prompt": {"none"}}), p)
		return b, ta, tb
	}
	// Both apps hear of a logout, with a token a standard verifier takes,
	// whose sid is that of the ID token the app holds.
	heard := func(t *testing.T, ta, tb servertest.TokenResponse) {
		t.Helper()
		for _, x := range []struct {
			rp     *rp
			client string
			tr     servertest.TokenResponse
		}{{rpa, "app-a", ta}, {rpb, "app-b", tb}} {
			got := x.rp.waitAccepted(t, 1)
			c := verifyLogoutToken(t, h, h.Issuer, got[0], x.client)
			id := servertest.PayloadOf(t, x.tr.IDToken)
			if c["sid"] != id["sid"] || c["sub"] != id["sub"] {
				t.Errorf("%s's logout token: sid %v sub %v, want its ID token's %v and %v", x.client, c["sid"], c["sub"], id["sid"], id["sub"])
			}
		}
	}

	t.Run("app logout ends that app's session only", func(t *testing.T) {
		b, ta, tb := signInBoth()
		var out map[string]any
		if status := h.PostJSON("/auth/logout", map[string]any{}, http.Header{"Authorization": {"Bearer " + ta.AccessToken}}, &out); status != http.StatusOK {
			t.Fatalf("/auth/logout: %d %v", status, out)
		}
		sessionOver(h, "app-a", ta)
		if status, _ := h.GetBearer("/auth/check", tb.AccessToken, nil); status != http.StatusOK {
			t.Errorf("app-b after app-a's own logout: %d, want 200", status)
		}
		// The broker session lives on.
		p := servertest.NewPKCE()
		mustRedeem(h, "app-a", codeFor(h, b, "app-a", p, url.Values{"prompt": {"none"}}), p)
		got := rpa.waitAccepted(t, 1)
		verifyLogoutToken(t, h, h.Issuer, got[0], "app-a")
	})

	t.Run("everywhere", func(t *testing.T) {
		rpa.reset()
		rpb.reset()
		b, ta, tb := signInBoth()
		var out map[string]any
		status := h.PostJSON("/auth/logout", map[string]any{"everywhere": true}, http.Header{"Authorization": {"Bearer " + ta.AccessToken}}, &out)
		if status != http.StatusOK || out["success"] != true {
			t.Fatalf("/auth/logout everywhere: %d %v", status, out)
		}
		sessionOver(h, "app-a", ta)
		sessionOver(h, "app-b", tb)
		heard(t, ta, tb)
		if q := codeFor(h, b, "app-a", servertest.NewPKCE(), url.Values{"prompt": {"none"}}); q.Get("error") != "login_required" {
			t.Errorf("prompt=none after logout everywhere: %v, want login_required", q)
		}
	})

	t.Run("RP-initiated", func(t *testing.T) {
		rpa.reset()
		rpb.reset()
		b, ta, tb := signInBoth()
		q := url.Values{"id_token_hint": {ta.IDToken}, "post_logout_redirect_uri": {"http://127.0.0.1:5173/"}, "state": {"s1"}}
		resp := b.Get(h.Issuer + "/logout?" + q.Encode())
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "http://127.0.0.1:5173/?state=s1" {
			t.Fatalf("/logout: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		sessionOver(h, "app-a", ta)
		sessionOver(h, "app-b", tb)
		heard(t, ta, tb)
		if q := codeFor(h, b, "app-b", servertest.NewPKCE(), url.Values{"prompt": {"none"}}); q.Get("error") != "login_required" {
			t.Errorf("prompt=none after /logout: %v, want login_required", q)
		}
	})
}

// A logout token waits in the database while its app is down, and reaches
// the app once it is back, from a broker started after the first stopped.
func TestBackchannelSurvivesRestart(t *testing.T) {
	h, rpa, _ := ssoHarness(t, "")
	rpa.status.Store(http.StatusServiceUnavailable)
	ta := signInSSO(h, h.NewBrowser(), "app-a")
	if status := h.PostJSON("/auth/logout", map[string]any{}, http.Header{"Authorization": {"Bearer " + ta.AccessToken}}, nil); status != http.StatusOK {
		t.Fatalf("/auth/logout: %d", status)
	}
	select {
	case <-rpa.entered: // the first attempt, refused
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery attempted")
	}
	h.Stop(h.Srv)
	rpa.status.Store(http.StatusOK)
	second := h.StartReplica(h.Cfg)
	h.Clock.Advance(time.Minute) // past the retry's backoff
	got := rpa.waitAccepted(t, 1)
	c := verifyLogoutToken(t, h, second, got[0], "app-a")
	if c["sid"] != servertest.PayloadOf(t, ta.IDToken)["sid"] {
		t.Errorf("logout token sid %v, want the session's", c["sid"])
	}
}

// However many replicas run, each app hears of each logout once; and one
// app that hangs holds up neither the logout nor another app's delivery.
func TestBackchannelOnceAcrossReplicas(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { testBackchannelOnce(t, "") })
	t.Run("postgres", func(t *testing.T) { testBackchannelOnce(t, pgtest.DSN(t)) })
}

func testBackchannelOnce(t *testing.T, dbURL string) {
	h, rpa, rpb := ssoHarness(t, dbURL)
	h.AddReplica()
	h.AddReplica()
	rpa.hang = make(chan struct{})
	b := h.NewBrowser()
	ta := signInSSO(h, b, "app-a")
	p := servertest.NewPKCE()
	mustRedeem(h, "app-b", codeFor(h, b, "app-b", p, url.Values{"prompt": {"none"}}), p)

	status := h.PostJSON("/auth/logout", map[string]any{"everywhere": true}, http.Header{"Authorization": {"Bearer " + ta.AccessToken}}, nil)
	if status != http.StatusOK {
		t.Fatalf("/auth/logout: %d", status)
	}
	// The logout has answered; only now does app-a's endpoint even see
	// its request, which hangs, while app-b gets its own.
	select {
	case <-rpa.entered:
	case <-time.After(10 * time.Second):
		t.Fatal("app-a got no delivery")
	}
	rpb.waitAccepted(t, 1)
	close(rpa.hang)
	rpa.waitAccepted(t, 1)
	time.Sleep(3 * time.Second) // three more polls of each of three replicas
	if a, b := len(rpa.accepted()), len(rpb.accepted()); a != 1 || b != 1 {
		t.Errorf("logout tokens received: app-a %d, app-b %d; want 1 each", a, b)
	}
}

// The broker session cookie signs nobody in unless it is the current one
// of a live session.
func TestSSOCookieForgedOrReplayed(t *testing.T) {
	h, _, _ := ssoHarness(t, "")
	issuer, _ := url.Parse(h.Issuer)
	cookieOf := func(b *servertest.Browser) string {
		for _, c := range b.Client.Jar.Cookies(issuer) {
			if c.Name == "broker_sso" {
				return c.Value
			}
		}
		t.Fatal("no broker_sso cookie")
		return ""
	}
	silent := func(value string) url.Values {
		b := h.NewBrowser()
		b.Client.Jar.SetCookies(issuer, []*http.Cookie{{Name: "broker_sso", Value: value}})
		return codeFor(h, b, "app-a", servertest.NewPKCE(), url.Values{"prompt": {"none"}})
	}

	if q := silent(tokens.NewOpaque()); q.Get("error") != "login_required" {
		t.Errorf("forged cookie: %v, want login_required", q)
	}

	b := h.NewBrowser()
	signInSSO(h, b, "app-a")
	first := cookieOf(b)
	p := servertest.NewPKCE()
	if q := silent(first); q.Get("code") == "" {
		t.Fatalf("the current cookie in another jar: %v, want a code (the test's control)", q)
	}
	// A new trip upstream rotates the secret: the copy is worthless.
	h.Google.SetNextUser(servertest.Alice)
	mustRedeem(h, "app-a", codeFor(h, b, "app-a", p, url.Values{"prompt": {"login"}}), p)
	second := cookieOf(b)
	if second == first {
		t.Fatal("the cookie did not change at the new sign-in")
	}
	if q := silent(first); q.Get("error") != "login_required" {
		t.Errorf("replayed cookie after a new sign-in: %v, want login_required", q)
	}
	// After /logout, the last one is worthless too.
	resp := b.ConfirmLogout(h.Issuer, b.Get(h.Issuer+"/logout"))
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if q := silent(second); q.Get("error") != "login_required" {
		t.Errorf("replayed cookie after logout: %v, want login_required", q)
	}
}

// With [sso] enabled = false the broker keeps no session of its own.
func TestSSODisabled(t *testing.T) {
	h := servertest.New(t, "[sso]\nenabled = false\n")
	b := h.NewBrowser()
	h.SignIn("google", "spa", servertest.Alice)
	h.Login(b, "google", "spa", servertest.Alice, servertest.NewPKCE())
	issuer, _ := url.Parse(h.Issuer)
	for _, c := range b.Client.Jar.Cookies(issuer) {
		if c.Name == "broker_sso" {
			t.Errorf("a broker_sso cookie with sso disabled")
		}
	}
	if q := codeFor(h, b, "spa", servertest.NewPKCE(), url.Values{"prompt": {"none"}}); q.Get("error") != "login_required" {
		t.Errorf("prompt=none with sso disabled: %v, want login_required", q)
	}
}

// A disabled user's broker session signs nobody in, though it was never
// revoked itself: every reuse reads the user.
func TestSSODisabledUser(t *testing.T) {
	h, _, _ := ssoHarness(t, "")
	b := h.NewBrowser()
	sub := servertest.PayloadOf(t, signInSSO(h, b, "app-a").IDToken)["sub"].(string)
	store, err := sqlite.Open(t.Context(), strings.TrimPrefix(h.Cfg.Database.URL, "sqlite:"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	if err := store.SetUserDisabled(t.Context(), sub, true, time.Now()); err != nil {
		t.Fatal(err)
	}
	if q := codeFor(h, b, "app-b", servertest.NewPKCE(), url.Values{"prompt": {"none"}}); q.Get("error") != "login_required" {
		t.Errorf("prompt=none for a disabled user: %v, want login_required", q)
	}
}
