package server_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/socialbroker/broker/internal/server/servertest"
)

// secretFields are the parameters and JSON members that carry secrets.
var secretFields = []string{
	"code", "code_verifier", "client_secret", "refresh_token", "refreshToken", "access_token",
	"accessToken", "id_token", "token", "id_token_hint", "state",
}

// wiretap is the transport of the whole run (servertest.Options.Transport):
// both the test's clients and the broker's upstream client use it. It
// learns every secret that crosses the wire in either direction: presented
// codes, verifiers, client secrets and tokens, upstream codes and tokens,
// cookies. It also keeps every error answer of the broker.
type wiretap struct {
	next http.RoundTripper

	mu      sync.Mutex
	broker  string            // the broker's host
	secrets map[string]string // secret -> where it was seen
	// upstreamPosts counts POSTs to hosts other than the broker's.
	upstreamPosts int
	errors        []string // the broker's 4xx/5xx answers: status line, headers, body
}

func (w *wiretap) learn(v, where string) {
	if len(v) < 8 {
		return // "x", "spa": not secrets, and they would match anywhere
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if _, ok := w.secrets[v]; !ok {
		w.secrets[v] = where
	}
}

// learnBody records the secret fields of a form or flat JSON body.
func (w *wiretap) learnBody(b []byte, where string) {
	var m map[string]any
	if json.Unmarshal(b, &m) == nil {
		for _, f := range secretFields {
			if s, ok := m[f].(string); ok {
				w.learn(s, where+" "+f)
			}
		}
		return
	}
	if q, err := url.ParseQuery(string(b)); err == nil {
		for _, f := range secretFields {
			for _, v := range q[f] {
				w.learn(v, where+" "+f)
			}
		}
	}
}

func (w *wiretap) learnHeader(h http.Header, where string) {
	if scheme, cred, ok := strings.Cut(h.Get("Authorization"), " "); ok {
		w.learn(cred, where+" Authorization")
		if strings.EqualFold(scheme, "Basic") {
			if raw, err := base64.StdEncoding.DecodeString(cred); err == nil {
				_, pw, _ := strings.Cut(string(raw), ":")
				w.learn(pw, where+" Basic password")
			}
		}
	}
	for _, c := range (&http.Request{Header: http.Header{"Cookie": h.Values("Cookie")}}).Cookies() {
		w.learn(c.Value, where+" cookie "+c.Name)
	}
	for _, c := range (&http.Response{Header: http.Header{"Set-Cookie": h.Values("Set-Cookie")}}).Cookies() {
		w.learn(c.Value, where+" set-cookie "+c.Name)
	}
	if loc, err := url.Parse(h.Get("Location")); err == nil {
		w.learnBody([]byte(loc.RawQuery), where+" Location")
	}
}

func (w *wiretap) RoundTrip(req *http.Request) (*http.Response, error) {
	where := req.Method + " " + req.URL.Host + req.URL.Path
	w.learnBody([]byte(req.URL.RawQuery), where+" query")
	w.learnHeader(req.Header, where)
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		w.learnBody(b, where+" body")
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	resp, err := w.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(b))
	w.learnBody(b, where+" answer")
	w.learnHeader(resp.Header, where+" answer")
	var hdr bytes.Buffer
	resp.Header.Write(&hdr)
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case req.URL.Host != w.broker && req.Method == http.MethodPost:
		w.upstreamPosts++
	case req.URL.Host == w.broker && resp.StatusCode >= 400:
		w.errors = append(w.errors, where+" "+resp.Status+"\n"+hdr.String()+"\n"+string(b))
	}
	return resp, nil
}

// leaks returns what of the secrets text contains.
func (w *wiretap) leaks(text string) []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var found []string
	for s, where := range w.secrets {
		if strings.Contains(text, s) {
			found = append(found, where)
		}
	}
	sort.Strings(found)
	return found
}

// TestNoSecretsInLogsOrErrors runs sign-ins through all three upstreams,
// redemptions, refreshes, logouts and a long list of failures (replayed and
// guessed codes, wrong verifiers and client secrets, forged and stale
// tokens, failing and lying upstreams), learning every secret on the wire.
// Then no log line may contain any of them, and no error answer may echo
// one (RFC 6749 §10.3, §10.5, §10.6; RFC 6819 §5.1.6).
func TestNoSecretsInLogsOrErrors(t *testing.T) {
	tap := &wiretap{next: http.DefaultTransport, secrets: map[string]string{}}
	h := servertest.Start(t, servertest.Options{TOML: "[rate_limits]\ntoken_per_tenant = \"40/m\"\n", Transport: tap})
	tap.mu.Lock() // the broker may already be calling upstream through tap
	tap.broker = strings.TrimPrefix(h.Issuer, "http://")
	tap.mu.Unlock()
	for _, s := range []string{servertest.ConfidentialSecret, "g-secret", "gh-secret", "corp-secret"} {
		tap.learn(s, "configured client secret")
	}
	basic := func(id, secret string) http.Header {
		return http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))}}
	}

	// Sign-ins through every upstream, and what apps do next.
	var grants []servertest.TokenResponse
	for _, provider := range []string{"google", "github", "corp"} {
		grants = append(grants, h.SignIn(provider, "spa", servertest.Alice))
	}
	tr := grants[0]
	h.GetBearer("/auth/me", tr.AccessToken, nil)
	rr, _ := h.RefreshGrant("spa", tr.RefreshToken)
	h.RefreshGrant("spa", "garbage."+tr.RefreshToken)
	h.PostJSON("/auth/refresh", map[string]string{"refreshToken": rr.RefreshToken}, nil, nil)
	conf := h.SignInConfidential(servertest.Alice)
	h.PostForm("/introspect", url.Values{"token": {conf.AccessToken}}, basic("server", servertest.ConfidentialSecret), nil)

	// Failures.
	p := servertest.NewPKCE()
	q := h.Login(h.NewBrowser(), "google", "spa", servertest.Alice, p)
	h.Redeem("spa", q.Get("code"), servertest.NewPKCE().Verifier)                                           // wrong verifier
	h.Redeem("spa", q.Get("code"), p.Verifier)                                                              // replayed (spent by the failure)
	h.Redeem("spa", "guessed-code-"+strings.Repeat("x", 30), p.Verifier)                                    // guessed
	h.Redeem("orgs", h.Login(h.NewBrowser(), "google", "spa", servertest.Alice, p).Get("code"), p.Verifier) // another client
	guess := "guessed-secret-" + strings.Repeat("y", 20)
	tap.learn(guess, "guessed client secret")
	h.PostForm("/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {conf.RefreshToken}}, basic("server", guess), nil)
	h.PostForm("/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {conf.RefreshToken}, "client_id": {"server"}, "client_secret": {guess}}, nil, nil)
	h.PostForm("/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {conf.RefreshToken}, "client_id": {"server"}, "client_secret": {guess}}, basic("server", servertest.ConfidentialSecret), nil)
	h.PostForm("/introspect", url.Values{"token": {tr.AccessToken}}, basic("server", guess), nil)
	h.PostForm("/revoke", url.Values{"token": {grants[1].RefreshToken}}, basic("server", guess), nil)
	h.RefreshGrant("orgs", grants[1].RefreshToken)                                              // another client's refresh token
	h.PostJSON("/auth/refresh", map[string]string{"refreshToken": conf.RefreshToken}, nil, nil) // confidential via the browser endpoint
	h.PostJSON("/auth/refresh", map[string]string{"refreshToken": grants[2].RefreshToken}, http.Header{"X-Tenant-ID": {"orgs"}}, nil)
	h.PostJSON("/auth/refresh", map[string]string{"refreshToken": "garbage." + grants[2].RefreshToken}, nil, nil)
	for _, path := range []string{"/auth/check", "/auth/me", "/auth/permissions", "/userinfo"} {
		h.GetBearer(path, tr.AccessToken+"x", nil)
		h.GetBearer(path, tr.IDToken, nil)
		h.GetBearer(path, tr.RefreshToken, nil)
		h.GetBearer(path, strings.Repeat("a", 9000), nil)
	}
	h.PostJSON("/auth/logout", map[string]string{"refreshToken": "nope." + tr.RefreshToken}, nil, nil)
	b := h.NewBrowser()
	resp := b.Get(h.Issuer + "/logout?" + url.Values{"id_token_hint": {tr.IDToken + "x"}, "post_logout_redirect_uri": {servertest.AppLogout}}.Encode())
	resp.Body.Close()
	// Theft detection: a stale refresh token after the grace revokes the session.
	h.Clock.Advance(11 * time.Second)
	h.RefreshGrant("spa", tr.RefreshToken)
	h.Clock.Advance(-11 * time.Second)

	// Upstreams that fail or lie, and replayed or forged callbacks.
	faults := []struct {
		provider string
		fault    func()
	}{
		{"google", func() { h.Google.SetTokenError("invalid_grant") }},
		{"corp", func() { h.Corp.SetSignWithUnpublishedKey(true) }},
		{"corp", func() { h.Corp.SetAlgNone(true) }},
		{"google", func() { h.Google.SetIDTokenMutator(func(c map[string]any) { c["nonce"] = "other" }) }},
		{"github", func() { h.GitHub.SetDown(true) }},
	}
	for _, f := range faults {
		b := h.NewBrowser()
		h.SetNextUser(f.provider, servertest.Alice)
		cb := b.UpstreamCallback(h, h.AuthorizeURL("/auth/"+f.provider+"/login", "spa", servertest.NewPKCE(), nil))
		f.fault()
		resp := b.Get(cb.String())
		resp.Body.Close()
		resp = b.Get(cb.String()) // replayed state
		resp.Body.Close()
		h.Google.Reset()
		h.GitHub.Reset()
		h.Corp.Reset()
	}
	resp = h.NewBrowser().Get(h.Issuer + "/auth/google/callback?" + url.Values{"state": {"forged-state-" + strings.Repeat("z", 30)}, "code": {"forged-code-" + strings.Repeat("z", 30)}}.Encode())
	resp.Body.Close()
	// Beyond the per-tenant limit on /token.
	for range 40 {
		h.Redeem("spa", "guessed-code-"+strings.Repeat("w", 30), p.Verifier)
	}

	logs := h.Logs.String()
	if !strings.Contains(logs, "sign-in") || !strings.Contains(logs, "upstream") || !strings.Contains(logs, "rate limit exceeded") {
		t.Fatalf("the run should log sign-ins, upstream failures and rate limiting; is the logger wired?\n%s", logs)
	}
	tap.mu.Lock()
	learned, errs, upstream := len(tap.secrets), len(tap.errors), tap.upstreamPosts
	answers := append([]string(nil), tap.errors...)
	tap.mu.Unlock()
	t.Logf("learned %d secrets, %d error answers, %d upstream POSTs", learned, errs, upstream)
	if learned < 50 || errs < 30 {
		t.Fatalf("learned %d secrets and %d error answers; the wiretap is not seeing the traffic", learned, errs)
	}
	t.Run("the wiretap carries the broker's upstream calls", func(t *testing.T) {
		// Only the broker POSTs upstream (code exchanges): without them the
		// upstream codes and tokens would go unlearned.
		if upstream < 5 {
			t.Errorf("%d POSTs to the upstreams went through the wiretap, want one per code exchange", upstream)
		}
	})
	t.Run("logs", func(t *testing.T) {
		if found := tap.leaks(logs); len(found) > 0 {
			t.Errorf("the logs contain secrets seen at:\n  %s", strings.Join(found, "\n  "))
		}
	})
	t.Run("error answers", func(t *testing.T) {
		for _, a := range answers {
			if found := tap.leaks(a); len(found) > 0 {
				t.Errorf("an error answer echoes secrets seen at %v:\n%.600s", found, a)
			}
		}
	})
}
