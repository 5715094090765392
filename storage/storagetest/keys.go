package storagetest

import (
	"testing"
	"time"

	"github.com/socialbroker/broker/storage"
)

func testKeys(t *testing.T, s storage.Store) {
	key := func(id string, created, expires time.Time) storage.SigningKey {
		t.Helper()
		k := storage.SigningKey{ID: id, Alg: "ES256", PrivateKey: []byte("der " + id), CreatedAt: created, ExpiresAt: expires}
		wantErr(t, "CreateKey("+id+")", s.CreateKey(t.Context(), k), nil)
		return k
	}
	// Inserted out of age order, so that order comes from CreatedAt.
	mid := key("mid", t0.Add(time.Hour), t0.Add(90*time.Minute))
	old := key("old", t0, time.Time{})
	cur := key("cur", t0.Add(2*time.Hour), time.Time{})
	wantErr(t, "CreateKey(again)", s.CreateKey(t.Context(), old), storage.ErrAlreadyExists)

	list := func(now time.Time, want ...storage.SigningKey) {
		t.Helper()
		got, err := s.ListKeys(t.Context(), now)
		wantErr(t, "ListKeys", err, nil)
		mustEqual(t, "ListKeys at "+now.String(), got, want)
	}
	list(t0.Add(time.Hour), cur, mid, old)
	list(t0.Add(90*time.Minute), cur, old) // expired exactly now

	old.RetiredAt = t0.Add(2 * time.Hour)
	old.ExpiresAt = t0.Add(3 * time.Hour)
	wantErr(t, "RetireKey", s.RetireKey(t.Context(), "old", old.RetiredAt, old.ExpiresAt), nil)
	list(t0.Add(2*time.Hour), cur, old)
	list(t0.Add(3*time.Hour), cur)

	err := s.RetireKey(t.Context(), "unknown", t0, t0)
	wantErr(t, "RetireKey(unknown)", err, storage.ErrNotFound)
}
