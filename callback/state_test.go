package callback

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/socialbroker/broker/tokens"
	"golang.org/x/crypto/chacha20poly1305"
)

// callbackWith presents state and the code "good" with cookie at the
// fake provider's callback.
func (f *testFlow) callbackWith(state string, cookie *http.Cookie) (status int, location string) {
	return f.callbackCode(state, "good", cookie)
}

// callbackCode is the browser's return with upstream code code.
func (f *testFlow) callbackCode(state, code string, cookie *http.Cookie) (status int, location string) {
	w := f.serve("/auth/fake/callback", url.Values{"state": {state}, "code": {code}}.Encode(), cookie)
	return w.Code, w.Header().Get("Location")
}

// wantStatePage: a refused state gets a 400 page, never a redirect.
func wantStatePage(t *testing.T, what string, status int, location string) {
	t.Helper()
	if status != http.StatusBadRequest || location != "" {
		t.Fatalf("%s: status %d Location %q, want a 400 page and no redirect", what, status, location)
	}
}

// TestSealedState: the state parameter carries the flow sealed; only the
// states this broker minted open, each once, and only until they expire.
func TestSealedState(t *testing.T) {
	t.Run("hides the flow", func(t *testing.T) {
		f := newTestFlow(t, "https://auth.example.com")
		state, _ := f.start(t)
		plain := decode(t, state)
		for _, secret := range []string{"app-state", registered[0], appQuery().Get("code_challenge")} {
			if bytes.Contains(plain, []byte(secret)) || strings.Contains(state, secret) {
				t.Fatalf("the state parameter shows %q", secret)
			}
		}
	})
	t.Run("changed", func(t *testing.T) {
		f := newTestFlow(t, "https://auth.example.com")
		state, cookie := f.start(t)
		sealed := decode(t, state)
		for _, i := range []int{0, len(sealed) / 2, len(sealed) - 1} { // nonce, text, tag
			changed := bytes.Clone(sealed)
			changed[i] ^= 1
			status, loc := f.callbackWith(base64.RawURLEncoding.EncodeToString(changed), cookie)
			wantStatePage(t, "a changed byte", status, loc)
		}
		if status, loc := f.callbackWith(state[:len(state)-4], cookie); status != http.StatusBadRequest || loc != "" {
			t.Fatalf("a truncated state: status %d Location %q", status, loc)
		}
		// None of that spent the genuine state.
		if status, loc := f.callbackWith(state, cookie); status != http.StatusFound || !strings.Contains(loc, "code=") {
			t.Fatalf("the genuine state after forgeries: status %d Location %q", status, loc)
		}
	})
	t.Run("another spelling", func(t *testing.T) {
		// The last character of unpadded base64 has unused low bits.
		// Were they ignored, one state would have several spellings, each
		// with a hash of its own, each usable once.
		f := newTestFlow(t, "https://auth.example.com")
		var state string
		var cookie *http.Cookie
		for n := 1; len(state)%4 == 0; n++ { // until the last character has spare bits
			q := appQuery()
			q.Set("state", strings.Repeat("s", n))
			w := f.serve("/auth/fake/login", q.Encode())
			loc, _ := url.Parse(w.Header().Get("Location"))
			state, cookie = loc.Query().Get("state"), w.Result().Cookies()[0]
		}
		const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
		last := strings.IndexByte(alphabet, state[len(state)-1])
		other := state[:len(state)-1] + string(alphabet[last^1])
		if !bytes.Equal(decode(t, other), decode(t, state)) {
			t.Fatal("test setup: the two spellings should decode alike when the spare bits are ignored")
		}
		if status, loc := f.callbackWith(state, cookie); status != http.StatusFound {
			t.Fatalf("genuine state: status %d Location %q", status, loc)
		}
		status, loc := f.callbackWith(other, cookie)
		wantStatePage(t, "the used state spelled otherwise", status, loc)
	})
	t.Run("line breaks and other characters", func(t *testing.T) {
		// A lenient decoder skips CR and LF; each such spelling would be
		// another id, and the state usable once more per spelling.
		f := newTestFlow(t, "https://auth.example.com")
		state, cookie := f.start(t)
		if status, loc := f.callbackWith(state, cookie); status != http.StatusFound {
			t.Fatalf("genuine state: status %d Location %q", status, loc)
		}
		mid := len(state) / 2
		for _, other := range []string{state + "\n", "\r" + state, state[:mid] + "\r\n" + state[mid:], state + "=", " " + state} {
			status, loc := f.callbackWith(other, cookie)
			wantStatePage(t, fmt.Sprintf("the used state spelled %q", other[:4]+"..."+other[len(other)-4:]), status, loc)
		}
	})
	t.Run("sealed for something else", func(t *testing.T) {
		// The same key sealing the same bytes for another purpose (another
		// associated data) does not make a state.
		f := newTestFlow(t, "https://auth.example.com")
		_, cookie := f.start(t)
		fl := flow{Browser: tokens.Hash(cookie.Value), Tenant: "app", Provider: "fake", RedirectURI: registered[0],
			Scope: "openid", Expires: f.now.Add(time.Minute).UnixMilli()}
		for aad, want := range map[string]int{string(stateAAD): http.StatusFound, "broker login state v0": http.StatusBadRequest, "": http.StatusBadRequest} {
			if status, loc := f.callbackWith(sealByHand(t, fl, []byte(aad)), cookie); status != want {
				t.Fatalf("sealed with associated data %q: status %d Location %q, want %d", aad, status, loc, want)
			}
		}
	})
	t.Run("sealed elsewhere for another redirect", func(t *testing.T) {
		// Defence in depth: even a flow sealed with the key (leaked, say,
		// with a database backup) goes only where the tenant allows now.
		f := newTestFlow(t, "https://auth.example.com")
		_, cookie := f.start(t)
		for _, fl := range []flow{
			{RedirectURI: "https://evil.test/cb", Provider: "fake"},
			{RedirectURI: registered[0], Provider: "unlisted"},
		} {
			fl.Browser, fl.Tenant, fl.Expires = tokens.Hash(cookie.Value), "app", f.now.Add(time.Minute).UnixMilli()
			state := sealByHand(t, fl, stateAAD)
			path := "/auth/" + fl.Provider + "/callback"
			w := f.serve(path, url.Values{"state": {state}, "code": {"good"}}.Encode(), cookie)
			wantStatePage(t, fmt.Sprintf("a flow for %s via %s", fl.RedirectURI, fl.Provider), w.Code, w.Header().Get("Location"))
		}
	})
	t.Run("another provider's callback", func(t *testing.T) {
		f := newTestFlow(t, "https://auth.example.com")
		state, cookie := f.start(t)
		w := f.serve("/auth/other/callback", url.Values{"state": {state}, "code": {"good"}}.Encode(), cookie)
		wantStatePage(t, "at another provider's callback", w.Code, w.Header().Get("Location"))
		status, loc := f.callbackWith(state, cookie)
		wantStatePage(t, "then at its own (spent)", status, loc)
	})
	t.Run("store down", func(t *testing.T) {
		f := newTestFlow(t, "https://auth.example.com")
		state, cookie := f.start(t)
		f.states.fail = errors.New("database unreachable")
		w := f.serve("/auth/fake/callback", url.Values{"state": {state}, "code": {"good"}}.Encode(), cookie)
		if w.Code < 500 || w.Header().Get("Location") != "" || strings.Contains(w.Body.String(), "unreachable") {
			t.Fatalf("with the store down: status %d Location %q body %q; want a 5xx page, no redirect, no detail",
				w.Code, w.Header().Get("Location"), w.Body)
		}
		f.states.fail = nil
		if status, loc := f.callbackWith(state, cookie); status != http.StatusFound {
			t.Fatalf("the same state once the store is back: status %d Location %q", status, loc)
		}
	})
	t.Run("another key", func(t *testing.T) {
		f := newTestFlow(t, "https://auth.example.com")
		other := newTestFlowWithKey(t, "https://auth.example.com", bytes.Repeat([]byte{7}, StateKeySize))
		state, cookie := other.start(t)
		status, loc := f.callbackWith(state, cookie)
		wantStatePage(t, "a state sealed under another key", status, loc)
	})
	t.Run("expired", func(t *testing.T) {
		f := newTestFlow(t, "https://auth.example.com")
		state, cookie := f.start(t)
		f.now = f.now.Add(10 * time.Minute) // LoginTTL
		status, loc := f.callbackWith(state, cookie)
		wantStatePage(t, "a state at its expiry", status, loc)
		f.now = f.now.Add(-time.Millisecond)
		if status, loc := f.callbackWith(state, cookie); status != http.StatusFound {
			t.Fatalf("the same state a moment before expiry: status %d Location %q", status, loc)
		}
	})
	t.Run("replayed", func(t *testing.T) {
		// Nothing is read before the upstream is asked: the replay reaches
		// it, and gets the page whether the upstream honours the spent
		// code again ("good", a lax one: the session's write refuses the
		// state) or refuses it ("once", as a real one does: the spend of
		// the refusal finds the state spent).
		for _, code := range []string{"good", "once"} {
			f := newTestFlow(t, "https://auth.example.com")
			state, cookie := f.start(t)
			if status, loc := f.callbackCode(state, code, cookie); status != http.StatusFound || !strings.Contains(loc, "code=") {
				t.Fatalf("%s: first use: status %d Location %q", code, status, loc)
			}
			status, loc := f.callbackCode(state, code, cookie)
			wantStatePage(t, "second use, upstream code "+code, status, loc)
			if n := f.upstream.exchanges.Load(); n != 2 {
				t.Fatalf("%s: upstream exchanges after a use and a replay: %d, want 2", code, n)
			}
		}
	})
	t.Run("refused sign-in", func(t *testing.T) {
		// A sign-in that ends without a session spends its state too.
		f := newTestFlow(t, "https://auth.example.com")
		for _, upstreamCode := range []string{"bad", "upstream down", ""} {
			state, cookie := f.start(t)
			w := f.serve("/auth/fake/callback", url.Values{"state": {state}, "code": {upstreamCode}}.Encode(), cookie)
			loc, _ := url.Parse(w.Header().Get("Location"))
			if w.Code != http.StatusFound || loc == nil || loc.Query().Get("error") == "" {
				t.Fatalf("upstream code %q: status %d Location %q, want an error for the app", upstreamCode, w.Code, w.Header().Get("Location"))
			}
			status, again := f.callbackWith(state, cookie)
			wantStatePage(t, fmt.Sprintf("the state of a sign-in refused with upstream code %q", upstreamCode), status, again)
		}
	})
	t.Run("client hangs up", func(t *testing.T) {
		// The request's context ends during the upstream exchange: the
		// state is spent all the same.
		f := newTestFlow(t, "https://auth.example.com")
		state, cookie := f.start(t)
		ctx, cancel := context.WithCancel(t.Context())
		ctx = context.WithValue(ctx, hangupKey{}, cancel)
		req := httptest.NewRequestWithContext(ctx, http.MethodGet,
			"/auth/fake/callback?"+url.Values{"state": {state}, "code": {"hangup"}}.Encode(), nil)
		req.AddCookie(cookie)
		f.e.ServeHTTP(httptest.NewRecorder(), req)
		if ctx.Err() == nil {
			t.Fatal("test setup: the request's context did not end")
		}
		status, loc := f.callbackWith(state, cookie)
		wantStatePage(t, "the state of a sign-in whose client hung up", status, loc)
	})
	t.Run("lost race", func(t *testing.T) {
		// Two callbacks with one state both reach the upstream; the write
		// that starts the session lets only the first through.
		f := newTestFlow(t, "https://auth.example.com")
		state, cookie := f.start(t)
		f.states.lose = true
		status, loc := f.callbackWith(state, cookie)
		wantStatePage(t, "the callback that lost the race", status, loc)
	})
}

// sealByHand seals fl under the test key with aad, as only a holder of
// the key could.
func sealByHand(t *testing.T, fl flow, aad []byte) string {
	t.Helper()
	aead, err := chacha20poly1305.NewX(testStateKey)
	if err != nil {
		t.Fatal(err)
	}
	nonce := make([]byte, chacha20poly1305.NonceSizeX)
	_, _ = rand.Read(nonce)
	return base64.RawURLEncoding.EncodeToString(aead.Seal(bytes.Clone(nonce), nonce, fl.marshal(), aad))
}

// decode decodes unpadded base64url as a lenient decoder does: skipping
// line breaks and the last character's spare bits.
func decode(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestNewRefusesStateKey: a key of the wrong size is a setup error, found
// when the handler is built rather than at the first sign-in.
func TestNewRefusesStateKey(t *testing.T) {
	for _, key := range [][]byte{nil, make([]byte, 16), make([]byte, 33)} {
		if _, err := New(Config{Issuer: "https://auth.example.com", StateKey: key}); err == nil {
			t.Errorf("New with a %d-byte state key: no error", len(key))
		}
	}
}

// FuzzFlowEncoding: any flow survives marshal and unmarshal unchanged, and
// any bytes at all unmarshal without a panic.
func FuzzFlowEncoding(f *testing.F) {
	f.Add("b", "app", "google", "https://app.example.com/cb", "s", "c", "openid", "n", "v", "un", true, int64(1893553445000))
	f.Add("", "", "", "", strings.Repeat("\x00<>&\"\\", 80), "", "", "\xff", "", "", false, int64(-1))
	f.Fuzz(func(t *testing.T, b, tenant, provider, redirect, appState, challenge, scope, nonce, verifier, upNonce string, orgs bool, exp int64) {
		in := flow{Browser: b, Tenant: tenant, Provider: provider, RedirectURI: redirect, AppState: appState,
			Challenge: challenge, Scope: scope, Nonce: nonce, Verifier: verifier, UpstreamNonce: upNonce,
			WantGroups: orgs, WantTeams: orgs && len(nonce)%2 == 0, Expires: exp}
		enc := in.marshal()
		var out flow
		if err := out.unmarshal(enc); err != nil || out != in {
			t.Fatalf("round trip: %+v, %v; want %+v", out, err, in)
		}
		var junk flow
		_ = junk.unmarshal([]byte(appState))
		// Every prefix of an encoding is incomplete.
		if len(enc) > 0 {
			if err := junk.unmarshal(enc[:len(enc)-1]); err == nil {
				t.Fatalf("a truncated encoding unmarshalled: %+v", junk)
			}
		}
	})
}

// TestLargestState: a flow with every app parameter at its longest still
// fits the bound the callback puts on the state.
func TestLargestState(t *testing.T) {
	f := newTestFlow(t, "https://auth.example.com")
	long := strings.Repeat("\"", maxParam) // JSON would have doubled it
	q := appQuery()
	q.Set("state", long)
	q.Set("nonce", long)
	w := f.serve("/auth/fake/login", q.Encode())
	loc, err := url.Parse(w.Header().Get("Location"))
	if w.Code != http.StatusFound || err != nil {
		t.Fatalf("login start: %d %q", w.Code, w.Header().Get("Location"))
	}
	state := loc.Query().Get("state")
	// Every string field of the flow at maxParam bytes.
	full := flow{}
	for _, p := range full.strings() {
		*p = strings.Repeat("x", maxParam)
	}
	full.Expires = -1 << 62
	size := base64.RawURLEncoding.EncodedLen(len(full.marshal()) + 12 + 16) // GCM nonce and tag
	if size > maxState || len(state) > maxState {
		t.Fatalf("sealed flows of %d and %d characters, over maxState %d", size, len(state), maxState)
	}
	if status, loc := f.callbackWith(state, w.Result().Cookies()[0]); status != http.StatusFound {
		t.Fatalf("callback with the longest state: status %d Location %q", status, loc)
	}
}
