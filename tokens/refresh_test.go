package tokens

import (
	"strings"
	"testing"
	"time"

	"github.com/socialbroker/broker/storage"
)

// TestRefreshTokenKeys: a refresh token is stored under its stamp and hash,
// so that keys grow with the time of issue (issue 22: new keys land at the
// end of the store's index); a token issued before the stamp, stored under
// its plain hash, still refreshes.
func TestRefreshTokenKeys(t *testing.T) {
	f := newServiceFixture(t)
	g := f.login(t, "openid")
	if _, err := f.store.GetRefreshToken(t.Context(), refreshKey(g.RefreshToken)); err != nil {
		t.Fatalf("the first token under its key: %v", err)
	}
	if _, err := f.store.GetRefreshToken(t.Context(), Hash(g.RefreshToken)); err == nil {
		t.Fatal("the first token found under its plain hash: the stamp does not lead its key")
	}
	keys := []string{refreshKey(g.RefreshToken)}
	tok := g.RefreshToken
	for range 3 {
		f.clock.Advance(time.Millisecond)
		next, err := f.svc.Refresh(t.Context(), tok, allow)
		if err != nil {
			t.Fatalf("Refresh: %v", err)
		}
		tok = next.RefreshToken
		keys = append(keys, refreshKey(tok))
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
	if _, err := f.store.RedeemCode(t.Context(), Hash(code), now, storage.RefreshToken{
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
