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
	"github.com/socialbroker/broker/storage/postgres/pgtest"
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
func ssoHarness(t *testing.T, dbURL string) (*harness, *rp, *rp) {
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
`, appRedirect, a.srv.URL+"/backchannel", appRedirect, b.srv.URL+"/backchannel")
	if dbURL == "" {
		return newHarness(t, extra), a, b
	}
	return newHarnessDB(t, dbURL, extra), a, b
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
func (h *harness) googleCounted() (*browser, *upstreamCounter) {
	b := h.newBrowser()
	g, _ := url.Parse(h.google.URL())
	c := &upstreamCounter{host: g.Host}
	b.client.Transport = c
	return b, c
}

// codeFor runs an authorization request for client from browser b and
// returns the app's redirect query.
func (h *harness) codeFor(b *browser, client string, p pkce, extra url.Values) url.Values {
	h.t.Helper()
	return b.follow(h.authorizeURL("/authorize", client, p, extra))
}

// signInSSO signs alice in to app-a through Google in browser b and
// redeems the code.
func (h *harness) signInSSO(b *browser, client string) tokenResponse {
	h.t.Helper()
	p := newPKCE()
	q := h.login(b, "google", client, alice, p)
	return h.mustRedeem(client, q, p)
}

func (h *harness) mustRedeem(client string, q url.Values, p pkce) tokenResponse {
	h.t.Helper()
	if q.Get("error") != "" || q.Get("code") == "" {
		h.t.Fatalf("%s: error=%s (%s), want a code", client, q.Get("error"), q.Get("error_description"))
	}
	tr, status := h.redeem(client, q.Get("code"), p.verifier)
	if status != http.StatusOK {
		h.t.Fatalf("redeem for %s: %d %+v", client, status, tr)
	}
	return tr
}

func TestSSOSecondAppWithoutUpstream(t *testing.T) {
	h, _, _ := ssoHarness(t, "")
	b, google := h.googleCounted()
	ta := h.signInSSO(b, "app-a")
	if google.n.Load() == 0 {
		t.Fatal("the first sign-in did not go to Google")
	}
	before := google.n.Load()

	// app-b offers Google too: a code at once, no trip upstream, as soon
	// as it names the provider.
	p := newPKCE()
	tb := h.mustRedeem("app-b", h.codeFor(b, "app-b", p, url.Values{"provider": {"google"}}), p)
	if n := google.n.Load(); n != before {
		t.Errorf("app-b's sign-in made %d requests to Google, want none", n-before)
	}
	ida, idb := payloadOf(t, ta.IDToken), payloadOf(t, tb.IDToken)
	if ida["sub"] != idb["sub"] || ida["auth_time"] != idb["auth_time"] {
		t.Errorf("app-b's ID token: sub %v auth_time %v, want app-a's %v and %v (auth_time is the trip upstream)",
			idb["sub"], idb["auth_time"], ida["sub"], ida["auth_time"])
	}
	if ida["sid"] == idb["sid"] || idb["sid"] == "" || idb["nonce"] != p.nonce {
		t.Errorf("app-b's ID token: sid %v nonce %v, want a session of its own and its nonce", idb["sid"], idb["nonce"])
	}
	if status, _ := h.getBearer("/auth/check", tb.AccessToken, nil); status != http.StatusOK {
		t.Errorf("app-b's token: /auth/check %d", status)
	}

	// Naming no provider, app-b (two providers) shows its chooser, with
	// "Continue as" first, leading to a code without Google.
	resp := b.get(h.authorizeURL("/authorize", "app-b", newPKCE(), nil))
	page := readAll(t, resp)
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
	resp = b.get(h.authorizeURL("/authorize", "orgs", newPKCE(), nil))
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, h.github.BaseURL()) {
		t.Errorf("orgs: %d %s, want a trip to GitHub", resp.StatusCode, loc)
	}
}

func TestPromptNone(t *testing.T) {
	h, _, _ := ssoHarness(t, "")
	none := url.Values{"prompt": {"none"}}
	b, google := h.googleCounted()

	p := newPKCE()
	q := h.codeFor(b, "app-a", p, none)
	if q.Get("error") != "login_required" || q.Get("state") != p.state || q.Get("iss") != h.issuer {
		t.Fatalf("prompt=none without a broker session: %v, want error=login_required with state and iss", q)
	}

	h.signInSSO(b, "app-a")
	before := google.n.Load()
	p = newPKCE()
	h.mustRedeem("app-b", h.codeFor(b, "app-b", p, none), p)
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
		{"app without the provider", "orgs", none, "interaction_required"},
		{"another provider named", "app-b", url.Values{"prompt": {"none"}, "provider": {"github"}}, "interaction_required"},
		{"none with login", "app-a", url.Values{"prompt": {"none login"}}, "invalid_request"},
		{"max_age not a number", "app-a", url.Values{"prompt": {"none"}, "max_age": {"soon"}}, "invalid_request"},
		{"max_age negative", "app-a", url.Values{"prompt": {"none"}, "max_age": {"-1"}}, "invalid_request"},
	} {
		q := h.codeFor(b, tt.client, newPKCE(), tt.extra)
		if q.Get("error") != tt.want {
			t.Errorf("%s: %v, want error=%s", tt.name, q, tt.want)
		}
	}
	p = newPKCE()
	q = h.codeFor(b, "app-a", p, url.Values{"prompt": {"none"}, "login_hint": {"ALICE@acme.test"}, "max_age": {"3600"}})
	h.mustRedeem("app-a", q, p)
}

// max_age=0 and prompt=login send the browser upstream again, and the
// new sign-in's auth_time is the new trip's.
func TestReauthentication(t *testing.T) {
	h, _, _ := ssoHarness(t, "")
	b, google := h.googleCounted()
	first := payloadOf(t, h.signInSSO(b, "app-a").IDToken)
	h.clock.Advance(time.Minute)
	for _, extra := range []url.Values{{"max_age": {"0"}}, {"prompt": {"login"}}} {
		before := google.n.Load()
		p := newPKCE()
		h.google.SetNextUser(alice)
		tr := h.mustRedeem("app-a", h.codeFor(b, "app-a", p, extra), p)
		if google.n.Load() == before {
			t.Errorf("%v: no trip to Google", extra)
		}
		if got := payloadOf(t, tr.IDToken)["auth_time"].(float64); got < first["auth_time"].(float64)+60 {
			t.Errorf("%v: auth_time %v, want the new trip's (first %v, a minute earlier)", extra, got, first["auth_time"])
		}
	}
}

// verifyLogoutToken checks raw as an app would, with go-oidc's verifier
// against the broker's published keys, and returns its claims.
func (h *harness) verifyLogoutToken(t *testing.T, base, raw, client string) map[string]any {
	t.Helper()
	ctx := context.Background()
	keys := oidc.NewRemoteKeySet(ctx, base+"/.well-known/jwks.json")
	v := oidc.NewVerifier(h.cfg.Issuer, keys, &oidc.Config{
		ClientID: client, Now: h.clock.Now, SupportedSigningAlgs: []string{h.cfg.Tokens.SigningAlg},
	})
	if _, err := v.Verify(ctx, raw); err != nil {
		t.Fatalf("logout token for %s: %v", client, err)
	}
	if typ := headerOf(t, raw)["typ"]; typ != "logout+jwt" {
		t.Errorf("logout token typ = %v, want logout+jwt", typ)
	}
	c := payloadOf(t, raw)
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
func (h *harness) sessionOver(client string, tr tokenResponse) {
	h.t.Helper()
	if status, _ := h.getBearer("/auth/check", tr.AccessToken, nil); status != http.StatusUnauthorized {
		h.t.Errorf("%s's access token after logout: %d, want 401", client, status)
	}
	if _, status := h.refreshGrant(client, tr.RefreshToken); status != http.StatusBadRequest {
		h.t.Errorf("%s's refresh after logout: %d, want 400", client, status)
	}
}

func TestLogoutScopes(t *testing.T) {
	h, rpa, rpb := ssoHarness(t, "")
	signInBoth := func() (*browser, tokenResponse, tokenResponse) {
		b := h.newBrowser()
		ta := h.signInSSO(b, "app-a")
		p := newPKCE()
		tb := h.mustRedeem("app-b", h.codeFor(b, "app-b", p, url.Values{"prompt": {"none"}}), p)
		return b, ta, tb
	}
	// Both apps hear of a logout, with a token a standard verifier takes,
	// whose sid is that of the ID token the app holds.
	heard := func(t *testing.T, ta, tb tokenResponse) {
		t.Helper()
		for _, x := range []struct {
			rp     *rp
			client string
			tr     tokenResponse
		}{{rpa, "app-a", ta}, {rpb, "app-b", tb}} {
			got := x.rp.waitAccepted(t, 1)
			c := h.verifyLogoutToken(t, h.issuer, got[0], x.client)
			id := payloadOf(t, x.tr.IDToken)
			if c["sid"] != id["sid"] || c["sub"] != id["sub"] {
				t.Errorf("%s's logout token: sid %v sub %v, want its ID token's %v and %v", x.client, c["sid"], c["sub"], id["sid"], id["sub"])
			}
		}
	}

	t.Run("app logout ends that app's session only", func(t *testing.T) {
		b, ta, tb := signInBoth()
		var out map[string]any
		if status := h.postJSON("/auth/logout", map[string]any{}, http.Header{"Authorization": {"Bearer " + ta.AccessToken}}, &out); status != http.StatusOK {
			t.Fatalf("/auth/logout: %d %v", status, out)
		}
		h.sessionOver("app-a", ta)
		if status, _ := h.getBearer("/auth/check", tb.AccessToken, nil); status != http.StatusOK {
			t.Errorf("app-b after app-a's own logout: %d, want 200", status)
		}
		// The broker session lives on.
		p := newPKCE()
		h.mustRedeem("app-a", h.codeFor(b, "app-a", p, url.Values{"prompt": {"none"}}), p)
		got := rpa.waitAccepted(t, 1)
		h.verifyLogoutToken(t, h.issuer, got[0], "app-a")
	})

	t.Run("everywhere", func(t *testing.T) {
		rpa.reset()
		rpb.reset()
		b, ta, tb := signInBoth()
		var out map[string]any
		status := h.postJSON("/auth/logout", map[string]any{"everywhere": true}, http.Header{"Authorization": {"Bearer " + ta.AccessToken}}, &out)
		if status != http.StatusOK || out["success"] != true {
			t.Fatalf("/auth/logout everywhere: %d %v", status, out)
		}
		h.sessionOver("app-a", ta)
		h.sessionOver("app-b", tb)
		heard(t, ta, tb)
		if q := h.codeFor(b, "app-a", newPKCE(), url.Values{"prompt": {"none"}}); q.Get("error") != "login_required" {
			t.Errorf("prompt=none after logout everywhere: %v, want login_required", q)
		}
	})

	t.Run("RP-initiated", func(t *testing.T) {
		rpa.reset()
		rpb.reset()
		b, ta, tb := signInBoth()
		q := url.Values{"id_token_hint": {ta.IDToken}, "post_logout_redirect_uri": {"http://127.0.0.1:5173/"}, "state": {"s1"}}
		resp := b.get(h.issuer + "/logout?" + q.Encode())
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "http://127.0.0.1:5173/?state=s1" {
			t.Fatalf("/logout: %d %s", resp.StatusCode, resp.Header.Get("Location"))
		}
		h.sessionOver("app-a", ta)
		h.sessionOver("app-b", tb)
		heard(t, ta, tb)
		if q := h.codeFor(b, "app-b", newPKCE(), url.Values{"prompt": {"none"}}); q.Get("error") != "login_required" {
			t.Errorf("prompt=none after /logout: %v, want login_required", q)
		}
	})
}

// A logout token waits in the database while its app is down, and reaches
// the app once it is back, from a broker started after the first stopped.
func TestBackchannelSurvivesRestart(t *testing.T) {
	h, rpa, _ := ssoHarness(t, "")
	rpa.status.Store(http.StatusServiceUnavailable)
	ta := h.signInSSO(h.newBrowser(), "app-a")
	if status := h.postJSON("/auth/logout", map[string]any{}, http.Header{"Authorization": {"Bearer " + ta.AccessToken}}, nil); status != http.StatusOK {
		t.Fatalf("/auth/logout: %d", status)
	}
	select {
	case <-rpa.entered: // the first attempt, refused
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery attempted")
	}
	h.stop(h.srv)
	rpa.status.Store(http.StatusOK)
	second := h.startReplica(h.cfg)
	h.clock.Advance(time.Minute) // past the retry's backoff
	got := rpa.waitAccepted(t, 1)
	c := h.verifyLogoutToken(t, second, got[0], "app-a")
	if c["sid"] != payloadOf(t, ta.IDToken)["sid"] {
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
	h.addReplica()
	h.addReplica()
	rpa.hang = make(chan struct{})
	b := h.newBrowser()
	ta := h.signInSSO(b, "app-a")
	p := newPKCE()
	h.mustRedeem("app-b", h.codeFor(b, "app-b", p, url.Values{"prompt": {"none"}}), p)

	status := h.postJSON("/auth/logout", map[string]any{"everywhere": true}, http.Header{"Authorization": {"Bearer " + ta.AccessToken}}, nil)
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
	issuer, _ := url.Parse(h.issuer)
	cookieOf := func(b *browser) string {
		for _, c := range b.client.Jar.Cookies(issuer) {
			if c.Name == "broker_sso" {
				return c.Value
			}
		}
		t.Fatal("no broker_sso cookie")
		return ""
	}
	silent := func(value string) url.Values {
		b := h.newBrowser()
		b.client.Jar.SetCookies(issuer, []*http.Cookie{{Name: "broker_sso", Value: value}})
		return h.codeFor(b, "app-a", newPKCE(), url.Values{"prompt": {"none"}})
	}

	if q := silent(tokens.NewOpaque()); q.Get("error") != "login_required" {
		t.Errorf("forged cookie: %v, want login_required", q)
	}

	b := h.newBrowser()
	h.signInSSO(b, "app-a")
	first := cookieOf(b)
	p := newPKCE()
	if q := silent(first); q.Get("code") == "" {
		t.Fatalf("the current cookie in another jar: %v, want a code (the test's control)", q)
	}
	// A new trip upstream rotates the secret: the copy is worthless.
	h.google.SetNextUser(alice)
	h.mustRedeem("app-a", h.codeFor(b, "app-a", p, url.Values{"prompt": {"login"}}), p)
	second := cookieOf(b)
	if second == first {
		t.Fatal("the cookie did not change at the new sign-in")
	}
	if q := silent(first); q.Get("error") != "login_required" {
		t.Errorf("replayed cookie after a new sign-in: %v, want login_required", q)
	}
	// After /logout, the last one is worthless too.
	resp := b.get(h.issuer + "/logout")
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if q := silent(second); q.Get("error") != "login_required" {
		t.Errorf("replayed cookie after logout: %v, want login_required", q)
	}
}

// With [sso] enabled = false the broker keeps no session of its own.
func TestSSODisabled(t *testing.T) {
	h := newHarness(t, "[sso]\nenabled = false\n")
	b := h.newBrowser()
	h.signIn("google", "spa", alice)
	h.login(b, "google", "spa", alice, newPKCE())
	issuer, _ := url.Parse(h.issuer)
	for _, c := range b.client.Jar.Cookies(issuer) {
		if c.Name == "broker_sso" {
			t.Errorf("a broker_sso cookie with sso disabled")
		}
	}
	if q := h.codeFor(b, "spa", newPKCE(), url.Values{"prompt": {"none"}}); q.Get("error") != "login_required" {
		t.Errorf("prompt=none with sso disabled: %v, want login_required", q)
	}
}
