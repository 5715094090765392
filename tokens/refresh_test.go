package tokens

import (
	"strings"
	"testing"
	"time"

	"github.com/socialbroker/broker/internal/oautherr"
	"github.com/socialbroker/broker/storage"
)

// TestRefreshTokenKeys: a refresh token is stored under its stamp and hash,
// so that keys grow with the time of issue (issue 22: new keys land at the
// end of the store's index); a token issued before the stamp, stored under
// its plain hash, still refreshes.
func TestRefreshTokenKeys(t *testing.T) {
	f := newServiceFixture(t)
	g := f.login(t, "openid")
	if _, err := f.store.GetRefreshToken(t.Context(), StoredKey(g.RefreshToken)); err != nil {
		t.Fatalf("the first token under its key: %v", err)
	}
	if _, err := f.store.GetRefreshToken(t.Context(), Hash(g.RefreshToken)); err == nil {
		t.Fatal("the first token found under its plain hash: the stamp does not lead its key")
	}
	keys := []string{StoredKey(g.RefreshToken)}
	tok := g.RefreshToken
	for range 3 {
		f.clock.Advance(time.Millisecond)
		next, err := f.svc.Refresh(t.Context(), tok, allow)
		if err != nil {
			t.Fatalf("Refresh: %v", err)
		}
		tok = next.RefreshToken
		keys = append(keys, StoredKey(tok))
	}
	for i := 1; i < len(keys); i++ {
		if keys[i] <= keys[i-1] {
			t.Fatalf("key %d %q does not sort after key %d %q", i, keys[i], i-1, keys[i-1])
		}
	}

	// A token of the earlier format: "<sid>.<secret>", stored under its hash.
	code, sid := f.signIn(t, "openid", "")
	legacy := sid + "." + NewOpaque()
	now := f.clock.Now()
	if _, err := f.store.RedeemCode(t.Context(), StoredKey(code), now, storage.RefreshToken{
		Hash: Hash(legacy), SessionID: sid, CreatedAt: now, ExpiresAt: now.Add(time.Hour),
	}); err != nil {
		t.Fatalf("RedeemCode: %v", err)
	}
	next, err := f.svc.Refresh(t.Context(), legacy, allow)
	if err != nil {
		t.Fatalf("Refresh(a token without a stamp): %v", err)
	}
	if parts := strings.Split(next.RefreshToken, "."); len(parts) != 3 || parts[0] != sid {
		t.Fatalf("its successor %q: want %s.<secret>.<stamp>", next.RefreshToken, sid)
	}
}

// TestCodeKeys: an authorization code is stored under its stamp and hash,
// as a refresh token is; a code issued before the stamp, stored under its
// plain hash, still redeems.
func TestCodeKeys(t *testing.T) {
	f := newServiceFixture(t)
	var keys []string
	for range 3 {
		f.clock.Advance(time.Millisecond)
		code, _ := f.signIn(t, "openid", testVerifier)
		if !WellFormed(code) || !strings.Contains(code, ".") {
			t.Fatalf("code %q: want <secret>.<stamp>", code)
		}
		if _, err := f.store.GetCode(t.Context(), StoredKey(code)); err != nil {
			t.Fatalf("the code under its key: %v", err)
		}
		if _, err := f.store.GetCode(t.Context(), Hash(code)); err == nil {
			t.Fatal("the code found under its plain hash: the stamp does not lead its key")
		}
		keys = append(keys, StoredKey(code))
	}
	// The stamp is no secret, but it is part of what is hashed: a code
	// under another stamp, or without its own, is no code, and leaves the
	// real one to its client.
	code, _ := f.signIn(t, "openid", testVerifier)
	secret := code[:strings.LastIndexByte(code, '.')]
	for _, forged := range []string{secret + ".000000000001", secret} {
		_, err := f.svc.ExchangeCode(t.Context(), CodeExchange{Code: forged, ClientID: testClient, RedirectURI: testRedirect, Verifier: testVerifier})
		wantOAuthErr(t, "ExchangeCode("+forged+")", err, oautherr.InvalidGrant)
	}
	if _, err := f.svc.ExchangeCode(t.Context(), CodeExchange{Code: code, ClientID: testClient, RedirectURI: testRedirect, Verifier: testVerifier}); err != nil {
		t.Fatalf("ExchangeCode(the real code) after forged ones: %v", err)
	}
	for i := 1; i < len(keys); i++ {
		if keys[i] <= keys[i-1] {
			t.Fatalf("key %d %q does not sort after key %d %q", i, keys[i], i-1, keys[i-1])
		}
	}

	// A code of the earlier format: 43 characters, stored under its hash.
	now := f.clock.Now()
	sess := storage.Session{
		ID: NewTimeID(now), UserID: f.user.ID, TenantID: testClient, Provider: "google", Scope: "openid",
		AuthTime: now, CreatedAt: now, ExpiresAt: now.Add(time.Hour),
	}
	legacy := NewOpaque()
	if err := f.store.CreateSession(t.Context(), storage.NewSession{Session: sess, Codes: []storage.AuthCode{{
		Hash: Hash(legacy), TenantID: testClient, RedirectURI: testRedirect, CodeChallenge: S256Challenge(testVerifier),
		SessionID: sess.ID, UserID: f.user.ID, Scope: "openid", ExpiresAt: now.Add(time.Minute),
	}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.ExchangeCode(t.Context(), CodeExchange{Code: legacy, ClientID: testClient, RedirectURI: testRedirect, Verifier: testVerifier}); err != nil {
		t.Fatalf("ExchangeCode(a code without a stamp): %v", err)
	}
}

func TestWellFormedAndStoredKey(t *testing.T) {
	secret := strings.Repeat("a", 43)
	for _, tc := range []struct {
		s  string
		ok bool
	}{
		{secret, true},
		{secret + ".0194a1b2c3d4", true},
		{secret + ".0194A1B2C3D4", false}, // upper case
		{secret + ".0194a1b2c3", false},   // short
		{secret + ".0194a1b2c3d4.x", false},
		{secret + ".", false},
		{secret[1:], false},
		{secret + "a", false},
	} {
		if ok := WellFormed(tc.s); ok != tc.ok {
			t.Errorf("WellFormed(%q) = %v, want %v", tc.s, ok, tc.ok)
		}
	}
	if got, want := StoredKey(secret+".0194a1b2c3d4"), "0194a1b2c3d4"+Hash(secret+".0194a1b2c3d4"); got != want {
		t.Errorf("StoredKey(stamped) = %q, want %q", got, want)
	}
	if got, want := StoredKey(secret), Hash(secret); got != want {
		t.Errorf("StoredKey(unstamped) = %q, want %q", got, want)
	}
}

func TestRefreshSessionParses(t *testing.T) {
	secret := strings.Repeat("a", 43)
	for _, tc := range []struct {
		token string
		ok    bool
	}{
		{"sid." + secret, true},
		{"sid." + secret + ".0194a1b2c3d4", true},
		{"sid." + secret + ".0194A1B2C3D4", false}, // upper case
		{"sid." + secret + ".0194a1b2c3", false},   // short
		{"sid." + secret + ".0194a1b2c3d4.x", false},
		{"sid." + secret + ".", false},
		{"." + secret, false},
		{"sid." + secret[1:], false},
	} {
		if _, ok := refreshSession(tc.token); ok != tc.ok {
			t.Errorf("refreshSession(%q) ok = %v, want %v", tc.token, ok, tc.ok)
		}
	}
}
