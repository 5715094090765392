package storagetest

import (
	"testing"
	"time"

	"github.com/socialbroker/broker/storage"
)

func testRedeemCode(t *testing.T, s storage.Store) {
	c := newCode(t, s, "code", t0.Add(time.Minute))
	wantErr(t, "CreateCode(again)", s.CreateCode(t.Context(), c), storage.ErrAlreadyExists)

	now := t0.Add(10 * time.Second)
	got, err := s.RedeemCode(t.Context(), "code", now)
	wantErr(t, "RedeemCode", err, nil)
	want := c
	want.UsedAt = now
	mustEqual(t, "RedeemCode", got, want)

	// A replay gets the stored code, still marked with the first use, so
	// the caller can revoke what it issued.
	got, err = s.RedeemCode(t.Context(), "code", now.Add(time.Second))
	wantErr(t, "RedeemCode(again)", err, storage.ErrAlreadyUsed)
	mustEqual(t, "RedeemCode(again)", got, want)

	_, err = s.RedeemCode(t.Context(), "unknown", now)
	wantErr(t, "RedeemCode(unknown)", err, storage.ErrNotFound)
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
		_, err := s.RedeemCode(t.Context(), tt.name, tt.now)
		wantErr(t, "RedeemCode "+tt.name, err, tt.want)
	}

	// A used code is reported as used even once expired: that replay is
	// what the caller must act on.
	newCode(t, s, "used", t0)
	_, err := s.RedeemCode(t.Context(), "used", t0.Add(-time.Second))
	wantErr(t, "RedeemCode", err, nil)
	got, err := s.RedeemCode(t.Context(), "used", t0.Add(30*time.Minute))
	wantErr(t, "RedeemCode(used, expired)", err, storage.ErrAlreadyUsed)
	if got.Hash != "used" || !got.UsedAt.Equal(t0.Add(-time.Second)) {
		t.Fatalf("RedeemCode(used, expired): got %+v, want the stored code used at %v", got, t0.Add(-time.Second))
	}
}

// Many redemptions of one code at once: exactly one wins, and every other
// one sees the winner's use.
func testRedeemCodeConcurrently(t *testing.T, s storage.Store) {
	const n = 50
	newCode(t, s, "code", t0.Add(time.Minute))

	results := race(n, func(i int) (storage.AuthCode, error) {
		// Distinct times tell which call won.
		return s.RedeemCode(t.Context(), "code", t0.Add(time.Duration(i+1)*time.Millisecond))
	})
	winner := soleWinner(t, "RedeemCode", results)
	usedAt := results[winner].value.UsedAt
	for i, r := range results {
		if i == winner {
			continue
		}
		wantErr(t, "concurrent RedeemCode", r.err, storage.ErrAlreadyUsed)
		if !r.value.UsedAt.Equal(usedAt) {
			t.Fatalf("concurrent RedeemCode %d: got UsedAt %v, want the winner's %v", i, r.value.UsedAt, usedAt)
		}
	}
}
