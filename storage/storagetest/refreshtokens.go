package storagetest

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/socialbroker/broker/storage"
)

func testRotateRefreshToken(t *testing.T, s storage.Store) {
	first := newChain(t, s, "s1", t0.Add(time.Hour), "rt1")

	now := t0.Add(time.Minute)
	second := refreshToken("rt2", "s1")
	second.CreatedAt = now
	sealed := []byte("rt2 sealed under rt1")
	got, err := s.RotateRefreshToken(t.Context(), "rt1", second, sealed, now)
	wantErr(t, "RotateRefreshToken", err, nil)
	mustEqual(t, "RotateRefreshToken returns the token as it was", got, first)

	// The rotated token now reports its use and its successor.
	used := first
	used.UsedAt = now
	used.SuccessorHash = "rt2"
	used.SuccessorSealed = sealed
	third := refreshToken("rt3", "s1")
	got, err = s.RotateRefreshToken(t.Context(), "rt1", third, []byte("other"), now.Add(time.Second))
	wantErr(t, "RotateRefreshToken(reused)", err, storage.ErrAlreadyUsed)
	mustEqual(t, "RotateRefreshToken(reused)", got, used)

	// The failed call changed nothing: rt3 was not inserted, rt2 is live.
	_, err = s.RotateRefreshToken(t.Context(), "rt3", refreshToken("rt4", "s1"), nil, now)
	wantErr(t, "RotateRefreshToken(successor of a refused rotation)", err, storage.ErrNotFound)
	got, err = s.RotateRefreshToken(t.Context(), "rt2", third, []byte("rt3 sealed"), now.Add(time.Minute))
	wantErr(t, "RotateRefreshToken(successor)", err, nil)
	mustEqual(t, "RotateRefreshToken(successor)", got, second)

	_, err = s.RotateRefreshToken(t.Context(), "unknown", refreshToken("rt5", "s1"), nil, now)
	wantErr(t, "RotateRefreshToken(unknown)", err, storage.ErrNotFound)

	got, err = s.GetRefreshToken(t.Context(), "rt1")
	wantErr(t, "GetRefreshToken(used)", err, nil)
	mustEqual(t, "GetRefreshToken(used)", got, used)
	got, err = s.GetRefreshToken(t.Context(), "rt3")
	wantErr(t, "GetRefreshToken(live)", err, nil)
	if got.Hash != "rt3" || !got.UsedAt.IsZero() {
		t.Errorf("GetRefreshToken(live) = %+v, want rt3 unused", got)
	}
	_, err = s.GetRefreshToken(t.Context(), "unknown")
	wantErr(t, "GetRefreshToken(unknown)", err, storage.ErrNotFound)
}

// A token of a revoked session never rotates, used or not, and nothing
// changes: the check is part of the rotation, not a read before it.
func testRotateRefreshTokenOfRevokedSession(t *testing.T, s storage.Store) {
	live := newChain(t, s, "s1", t0.Add(time.Hour), "rt1")
	wantErr(t, "RevokeSession", s.RevokeSession(t.Context(), "s1", t0), nil)
	_, err := s.RotateRefreshToken(t.Context(), "rt1", refreshToken("rt2", "s1"), nil, t0.Add(time.Second))
	wantErr(t, "RotateRefreshToken(revoked session)", err, storage.ErrRevoked)
	got, err := s.GetRefreshToken(t.Context(), "rt1")
	wantErr(t, "GetRefreshToken", err, nil)
	mustEqual(t, "token of a revoked session after a refused rotation", got, live)
	_, err = s.GetRefreshToken(t.Context(), "rt2")
	wantErr(t, "GetRefreshToken(successor of a refused rotation)", err, storage.ErrNotFound)
}

// A token past its ExpiresAt never rotates and nothing changes: a dead
// link has no successor that a retry within the reuse grace could be
// handed. A token used before it expired still answers as used.
func testRotateExpiredRefreshToken(t *testing.T, s storage.Store) {
	dead := newChain(t, s, "s1", t0.Add(48*time.Hour), "rt1") // expires t0+24h
	_, err := s.RotateRefreshToken(t.Context(), "rt1", refreshToken("rt2", "s1"), nil, dead.ExpiresAt)
	wantErr(t, "RotateRefreshToken(at its expiry)", err, storage.ErrExpired)
	got, err := s.GetRefreshToken(t.Context(), "rt1")
	wantErr(t, "GetRefreshToken", err, nil)
	mustEqual(t, "expired token after a refused rotation", got, dead)
	_, err = s.GetRefreshToken(t.Context(), "rt2")
	wantErr(t, "GetRefreshToken(successor of a refused rotation)", err, storage.ErrNotFound)

	newChain(t, s, "s2", t0.Add(48*time.Hour), "rt3")
	_, err = s.RotateRefreshToken(t.Context(), "rt3", refreshToken("rt4", "s2"), nil, t0.Add(time.Hour))
	wantErr(t, "RotateRefreshToken(live)", err, nil)
	_, err = s.RotateRefreshToken(t.Context(), "rt3", refreshToken("rt5", "s2"), nil, t0.Add(25*time.Hour))
	wantErr(t, "RotateRefreshToken(used, since expired)", err, storage.ErrAlreadyUsed)
}

// A rotation whose successor cannot be inserted must leave the token live.
func testRotateRefreshTokenSuccessorExists(t *testing.T, s storage.Store) {
	newChain(t, s, "s1", t0.Add(time.Hour), "rt1")
	newChain(t, s, "s2", t0.Add(time.Hour), "taken")
	taken := refreshToken("taken", "s1")

	_, err := s.RotateRefreshToken(t.Context(), "rt1", taken, nil, t0)
	wantErr(t, "RotateRefreshToken(existing successor)", err, storage.ErrAlreadyExists)
	_, err = s.RotateRefreshToken(t.Context(), "rt1", refreshToken("rt2", "s1"), nil, t0)
	wantErr(t, "RotateRefreshToken after the refused one", err, nil)
}

// Many rotations of one token at once (a client retrying, or a thief racing
// the client): exactly one rotates; every other call sees the token used
// with the winner's successor, which is what the reuse grace needs.
func testRotateRefreshTokenConcurrently(t *testing.T, s storage.Store) {
	const n = 50
	newChain(t, s, "s1", t0.Add(time.Hour), "rt")

	results := race(n, func(i int) (storage.RefreshToken, error) {
		next := refreshToken(fmt.Sprintf("next-%d", i), "s1")
		return s.RotateRefreshToken(t.Context(), "rt", next, []byte(next.Hash+" sealed"), t0)
	})
	winner := soleWinner(t, "RotateRefreshToken", results)
	if !results[winner].value.UsedAt.IsZero() {
		t.Fatalf("winner got UsedAt %v, want the token as it was (unused)", results[winner].value.UsedAt)
	}
	wantHash := fmt.Sprintf("next-%d", winner)
	for i, r := range results {
		if i == winner {
			continue
		}
		wantErr(t, "concurrent RotateRefreshToken", r.err, storage.ErrAlreadyUsed)
		if r.value.SuccessorHash != wantHash || !bytes.Equal(r.value.SuccessorSealed, []byte(wantHash+" sealed")) {
			t.Fatalf("call %d: got successor %q %q, want the winner's %q", i, r.value.SuccessorHash, r.value.SuccessorSealed, wantHash)
		}
		// A loser's successor must not have been inserted.
		_, err := s.RotateRefreshToken(t.Context(), fmt.Sprintf("next-%d", i), refreshToken("x", "s1"), nil, t0)
		wantErr(t, "RotateRefreshToken(loser's successor)", err, storage.ErrNotFound)
	}
	_, err := s.RotateRefreshToken(t.Context(), wantHash, refreshToken("after", "s1"), nil, t0)
	wantErr(t, "RotateRefreshToken(winner's successor)", err, nil)
}
