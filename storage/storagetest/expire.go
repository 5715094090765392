package storagetest

import (
	"testing"
	"time"

	"github.com/socialbroker/broker/storage"
)

func testDeleteExpired(t *testing.T, s storage.Store) {
	now := t0.Add(10 * time.Hour)
	gone, kept := "gone", "kept"

	// Used login states: past their expiry.
	stateExpiry := map[string]time.Time{gone: now.Add(-time.Second), kept: now.Add(time.Second)}
	for id, exp := range stateExpiry {
		wantErr(t, "UseLoginState", s.UseLoginState(t.Context(), id, exp), nil)
	}
	// Codes: more than CodeRetention past ExpiresAt. Both are used, so a
	// kept one still answers ErrAlreadyUsed.
	for hash, exp := range map[string]time.Time{
		gone: now.Add(-storage.CodeRetention - time.Second),
		kept: now.Add(-storage.CodeRetention + time.Second),
	} {
		newCode(t, s, hash, exp)
		_, err := redeem(t, s, hash, exp.Add(-time.Second))
		wantErr(t, "RedeemCode", err, nil)
	}
	// Sessions: past ExpiresAt, with every link of their chains.
	newChain(t, s, gone, now.Add(-time.Second), "gone-1")
	_, err := s.RotateRefreshToken(t.Context(), "gone-1", refreshToken("gone-2", gone), nil, t0)
	wantErr(t, "RotateRefreshToken", err, nil)
	newChain(t, s, kept, now.Add(time.Hour), "kept-1")
	// Keys: past ExpiresAt; no ExpiresAt is never.
	for id, exp := range map[string]time.Time{gone: now.Add(-time.Second), kept: now.Add(time.Hour), "forever": {}} {
		k := storage.SigningKey{ID: id, Alg: "EdDSA", PrivateKey: []byte(id), CreatedAt: t0, ExpiresAt: exp}
		wantErr(t, "CreateKey", s.CreateKey(t.Context(), k), nil)
	}

	n, err := s.DeleteExpired(t.Context(), now)
	wantErr(t, "DeleteExpired", err, nil)
	// 1 login state + 1 code + the 2 chains' own codes (redeemed at t0,
	// past retention) + 1 session and its 2 refresh tokens + 1 key.
	if n != 8 {
		t.Fatalf("DeleteExpired: got %d rows removed, want 8", n)
	}

	_, err = redeem(t, s, kept, now)
	wantErr(t, "RedeemCode(kept)", err, storage.ErrAlreadyUsed)
	_, err = redeem(t, s, gone, now)
	wantErr(t, "RedeemCode(gone)", err, storage.ErrNotFound)

	_, err = s.GetSession(t.Context(), kept)
	wantErr(t, "GetSession(kept)", err, nil)
	_, err = s.GetSession(t.Context(), gone)
	wantErr(t, "GetSession(gone)", err, storage.ErrNotFound)
	for _, hash := range []string{"gone-1", "gone-2"} {
		_, err = s.RotateRefreshToken(t.Context(), hash, refreshToken(hash+"-next", kept), nil, now)
		wantErr(t, "RotateRefreshToken("+hash+")", err, storage.ErrNotFound)
	}
	_, err = s.RotateRefreshToken(t.Context(), "kept-1", refreshToken("kept-2", kept), nil, now)
	wantErr(t, "RotateRefreshToken(kept-1)", err, nil)

	keys, err := s.ListKeys(t.Context(), t0)
	wantErr(t, "ListKeys", err, nil)
	if len(keys) != 2 {
		t.Fatalf("ListKeys after DeleteExpired: got %d keys, want kept and forever", len(keys))
	}
	for _, k := range keys {
		if k.ID == gone {
			t.Fatalf("ListKeys after DeleteExpired: expired key still listed")
		}
	}

	n, err = s.DeleteExpired(t.Context(), now)
	wantErr(t, "DeleteExpired(again)", err, nil)
	if n != 0 {
		t.Fatalf("DeleteExpired(again): got %d rows removed, want 0", n)
	}

	// A kept state is still used; a removed one is forgotten (using it
	// again here is only the store's test of it: the flow refuses a state
	// past its expiry before it asks).
	wantErr(t, "UseLoginState(kept)", s.UseLoginState(t.Context(), kept, stateExpiry[kept]), storage.ErrAlreadyUsed)
	wantErr(t, "UseLoginState(gone)", s.UseLoginState(t.Context(), gone, stateExpiry[gone]), nil)
}
