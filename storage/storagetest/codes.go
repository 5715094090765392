package storagetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/socialbroker/broker/storage"
)

func testRedeemCode(t *testing.T, s storage.Store) {
	c := newCode(t, s, "code", t0.Add(time.Minute))
	got, err := s.GetCode(t.Context(), "code")
	wantErr(t, "GetCode", err, nil)
	mustEqual(t, "GetCode", got, c)

	now := t0.Add(10 * time.Second)
	first := refreshToken("rt-code", c.SessionID)
	got, err = s.RedeemCode(t.Context(), "code", now, first)
	wantErr(t, "RedeemCode", err, nil)
	want := c
	want.UsedAt = now
	mustEqual(t, "RedeemCode", got, want)
	got, err = s.GetCode(t.Context(), "code")
	wantErr(t, "GetCode(used)", err, nil)
	mustEqual(t, "GetCode(used)", got, want)
	// The redemption started the session's chain with first.
	rt, err := s.GetRefreshToken(t.Context(), "rt-code")
	wantErr(t, "GetRefreshToken(first)", err, nil)
	mustEqual(t, "GetRefreshToken(first)", rt, first)

	// A replay gets the stored code, still marked with the first use, so
	// the caller can revoke what it issued; its token is not stored.
	got, err = s.RedeemCode(t.Context(), "code", now.Add(time.Second), refreshToken("rt-replay", c.SessionID))
	wantErr(t, "RedeemCode(again)", err, storage.ErrAlreadyUsed)
	mustEqual(t, "RedeemCode(again)", got, want)
	_, err = s.GetRefreshToken(t.Context(), "rt-replay")
	wantErr(t, "GetRefreshToken(replay's token)", err, storage.ErrNotFound)

	_, err = redeem(t, s, "unknown", now)
	wantErr(t, "RedeemCode(unknown)", err, storage.ErrNotFound)
	_, err = s.GetCode(t.Context(), "unknown")
	wantErr(t, "GetCode(unknown)", err, storage.ErrNotFound)
}

// A code whose session was revoked after it was issued (the user
// disabled, a logout) is not redeemed: ErrRevoked, the code left unused,
// no refresh token stored.
func testRedeemCodeOfRevokedSession(t *testing.T, s storage.Store) {
	c := newCode(t, s, "code", t0.Add(time.Minute))
	wantErr(t, "RevokeSession", s.RevokeSession(t.Context(), c.SessionID, t0), nil)
	_, err := s.RedeemCode(t.Context(), "code", t0.Add(time.Second), refreshToken("rt", c.SessionID))
	wantErr(t, "RedeemCode(revoked session)", err, storage.ErrRevoked)
	got, err := s.GetCode(t.Context(), "code")
	wantErr(t, "GetCode", err, nil)
	mustEqual(t, "code after the refusal", got, c)
	_, err = s.GetRefreshToken(t.Context(), "rt")
	wantErr(t, "GetRefreshToken", err, storage.ErrNotFound)
}

// A redemption whose first refresh token cannot be stored (its hash is
// taken) leaves the code unused; the first token always joins the code's
// own session, whatever session it names.
func testRedeemCodeAtomic(t *testing.T, s storage.Store) {
	newChain(t, s, "other", t0.Add(time.Hour), "taken")
	c := newCode(t, s, "code", t0.Add(time.Minute))

	_, err := s.RedeemCode(t.Context(), "code", t0, refreshToken("taken", c.SessionID))
	wantErr(t, "RedeemCode(first token's hash taken)", err, storage.ErrAlreadyExists)
	got, err := s.GetCode(t.Context(), "code")
	wantErr(t, "GetCode", err, nil)
	mustEqual(t, "code after a refused redemption", got, c)

	_, err = s.RedeemCode(t.Context(), "code", t0, refreshToken("rt", "other"))
	wantErr(t, "RedeemCode(first token naming another session)", err, nil)
	first, err := s.GetRefreshToken(t.Context(), "rt")
	wantErr(t, "GetRefreshToken(first)", err, nil)
	mustEqual(t, "first token's session", first.SessionID, c.SessionID)
}

func testRedeemCodeExpiry(t *testing.T, s storage.Store) {
	tests := []struct {
		name string
		now  time.Time
		want error
	}{
		{"before expiry", t0.Add(-time.Millisecond), nil},
		{"at expiry", t0, storage.ErrNotFound},
		{"after expiry", t0.Add(time.Minute), storage.ErrNotFound},
	}
	for _, tt := range tests {
		newCode(t, s, tt.name, t0)
		_, err := redeem(t, s, tt.name, tt.now)
		wantErr(t, "RedeemCode "+tt.name, err, tt.want)
	}

	// A used code is reported as used even once expired: that replay is
	// what the caller must act on.
	newCode(t, s, "used", t0)
	_, err := redeem(t, s, "used", t0.Add(-time.Second))
	wantErr(t, "RedeemCode", err, nil)
	got, err := redeem(t, s, "used", t0.Add(30*time.Minute))
	wantErr(t, "RedeemCode(used, expired)", err, storage.ErrAlreadyUsed)
	if got.Hash != "used" || !got.UsedAt.Equal(t0.Add(-time.Second)) {
		t.Fatalf("RedeemCode(used, expired): got %+v, want the stored code used at %v", got, t0.Add(-time.Second))
	}
}

// Many redemptions of one code at once: exactly one wins, every other one
// sees the winner's use, and only the winner's first refresh token is
// stored.
func testRedeemCodeConcurrently(t *testing.T, s storage.Store) {
	const n = 50
	c := newCode(t, s, "code", t0.Add(time.Minute))
	first := func(i int) storage.RefreshToken { return refreshToken(fmt.Sprintf("rt-%d", i), c.SessionID) }

	results := race(n, func(i int) (storage.AuthCode, error) {
		// Distinct times tell which call won.
		return s.RedeemCode(t.Context(), "code", t0.Add(time.Duration(i+1)*time.Millisecond), first(i))
	})
	winner := soleWinner(t, "RedeemCode", results)
	usedAt := results[winner].value.UsedAt
	for i, r := range results {
		_, err := s.GetRefreshToken(t.Context(), first(i).Hash)
		if i == winner {
			wantErr(t, "GetRefreshToken(the winner's first token)", err, nil)
			continue
		}
		wantErr(t, "concurrent RedeemCode", r.err, storage.ErrAlreadyUsed)
		if !r.value.UsedAt.Equal(usedAt) {
			t.Fatalf("concurrent RedeemCode %d: got UsedAt %v, want the winner's %v", i, r.value.UsedAt, usedAt)
		}
		wantErr(t, "GetRefreshToken(a loser's first token)", err, storage.ErrNotFound)
	}
}
