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

// A rotated token whose successor was never used is rotated again: the
// old successor is superseded (used, without a successor), the new one
// is live.
func testReplaceSuccessor(t *testing.T, s storage.Store) {
	newChain(t, s, "s1", t0.Add(time.Hour), "rt1")
	now := t0.Add(time.Minute)
	if _, err := s.RotateRefreshToken(t.Context(), "rt1", refreshToken("rt2", "s1"), []byte("rt2 sealed"), now); err != nil {
		t.Fatal(err)
	}
	later := now.Add(time.Minute)
	wantErr(t, "ReplaceSuccessor", s.ReplaceSuccessor(t.Context(), "rt1", "rt2", refreshToken("rt2b", "s1"), []byte("rt2b sealed"), later), nil)

	parent, err := s.GetRefreshToken(t.Context(), "rt1")
	wantErr(t, "GetRefreshToken(parent)", err, nil)
	if parent.SuccessorHash != "rt2b" || !bytes.Equal(parent.SuccessorSealed, []byte("rt2b sealed")) || !parent.UsedAt.Equal(now) {
		t.Errorf("parent after ReplaceSuccessor = %+v, want successor rt2b, still used at %v", parent, now)
	}
	old, err := s.GetRefreshToken(t.Context(), "rt2")
	wantErr(t, "GetRefreshToken(superseded)", err, nil)
	if !old.UsedAt.Equal(later) || old.SuccessorHash != "" {
		t.Errorf("superseded successor = %+v, want used at %v with no successor", old, later)
	}
	// The superseded token is used: it never rotates again.
	_, err = s.RotateRefreshToken(t.Context(), "rt2", refreshToken("x", "s1"), nil, later)
	wantErr(t, "RotateRefreshToken(superseded)", err, storage.ErrAlreadyUsed)
	// The new successor is the live link.
	_, err = s.RotateRefreshToken(t.Context(), "rt2b", refreshToken("rt3", "s1"), nil, later)
	wantErr(t, "RotateRefreshToken(new successor)", err, nil)

	// Now that the successor has been used, its parent is only reused.
	err = s.ReplaceSuccessor(t.Context(), "rt1", "rt2b", refreshToken("y", "s1"), nil, later)
	wantErr(t, "ReplaceSuccessor(successor used)", err, storage.ErrAlreadyUsed)
	err = s.ReplaceSuccessor(t.Context(), "rt1", "rt2", refreshToken("y", "s1"), nil, later)
	wantErr(t, "ReplaceSuccessor(no longer the successor)", err, storage.ErrAlreadyUsed)
	err = s.ReplaceSuccessor(t.Context(), "unknown", "rt2", refreshToken("y", "s1"), nil, later)
	wantErr(t, "ReplaceSuccessor(unknown)", err, storage.ErrNotFound)
	_, err = s.GetRefreshToken(t.Context(), "y")
	wantErr(t, "refused ReplaceSuccessor inserted nothing", err, storage.ErrNotFound)
}

// ReplaceSuccessor refuses, changing nothing, when the session is revoked
// or the successor's idle end has passed.
func testReplaceSuccessorRefusals(t *testing.T, s storage.Store) {
	for _, tt := range []struct {
		name  string
		setup func(t *testing.T)
		at    time.Time
		want  error
	}{
		{"revoked", func(t *testing.T) { wantErr(t, "RevokeSession", s.RevokeSession(t.Context(), "s-revoked", t0), nil) }, t0.Add(2 * time.Minute), storage.ErrRevoked},
		{"expired", func(*testing.T) {}, t0.Add(48 * time.Hour), storage.ErrExpired},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sid := "s-" + tt.name
			newChain(t, s, sid, t0.Add(72*time.Hour), sid+"-rt1")
			if _, err := s.RotateRefreshToken(t.Context(), sid+"-rt1", refreshToken(sid+"-rt2", sid), nil, t0.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
			tt.setup(t)
			err := s.ReplaceSuccessor(t.Context(), sid+"-rt1", sid+"-rt2", refreshToken(sid+"-rt3", sid), nil, tt.at)
			wantErr(t, "ReplaceSuccessor", err, tt.want)
			if succ, _ := s.GetRefreshToken(t.Context(), sid+"-rt2"); !succ.UsedAt.IsZero() {
				t.Errorf("refused ReplaceSuccessor superseded the successor: %+v", succ)
			}
			_, err = s.GetRefreshToken(t.Context(), sid+"-rt3")
			wantErr(t, "refused ReplaceSuccessor inserted nothing", err, storage.ErrNotFound)
		})
	}
}

// Of concurrent ReplaceSuccessor calls for one token, exactly one wins.
func testReplaceSuccessorConcurrently(t *testing.T, s storage.Store) {
	const n = 20
	newChain(t, s, "s1", t0.Add(time.Hour), "rt1")
	if _, err := s.RotateRefreshToken(t.Context(), "rt1", refreshToken("rt2", "s1"), nil, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	results := race(n, func(i int) (struct{}, error) {
		return struct{}{}, s.ReplaceSuccessor(t.Context(), "rt1", "rt2", refreshToken(fmt.Sprintf("new-%d", i), "s1"), nil, t0.Add(2*time.Minute))
	})
	winner := soleWinner(t, "ReplaceSuccessor", results)
	for i, r := range results {
		if i != winner {
			wantErr(t, "concurrent ReplaceSuccessor", r.err, storage.ErrAlreadyUsed)
		}
	}
	parent, _ := s.GetRefreshToken(t.Context(), "rt1")
	if want := fmt.Sprintf("new-%d", winner); parent.SuccessorHash != want {
		t.Errorf("parent's successor = %q, want the winner's %q", parent.SuccessorHash, want)
	}
}
