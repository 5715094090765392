package storagetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/socialbroker/broker/storage"
)

// fillAccount is the i-th account of testFill, every field set.
func fillAccount(i int) storage.Account {
	id := fmt.Sprintf("fill-user-%d", i)
	return storage.Account{
		User: storage.User{ID: id, Name: "Fill " + id, Email: id + "@fill.test", EmailVerified: true,
			Picture: "https://pic.test/" + id, Username: id, CreatedAt: t0, UpdatedAt: t0.Add(time.Second)},
		Identity: storage.Identity{Provider: "github", Subject: fmt.Sprint(1000 + i), Username: id,
			Email: id + "@fill.test", EmailVerified: true, EmailTrusted: true, CreatedAt: t0, UpdatedAt: t0},
		Session: storage.Session{ID: "fill-sess-" + fmt.Sprint(i), TenantID: "acme", Provider: "github", Scope: "openid email",
			Roles: []string{"member"}, Facts: []byte(`{"v":1}`), Nonce: "n", AuthTime: t0, CreatedAt: t0, ExpiresAt: t0.Add(24 * time.Hour)},
		Refresh: storage.RefreshToken{Hash: "fill-rt-" + fmt.Sprint(i), CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)},
	}
}

// testFill: a store fills accounts that read back as the store's own
// methods stored them, and a batch with a taken key stores nothing.
func testFill(t *testing.T, s storage.Store) {
	f, ok := s.(storage.Filler)
	if !ok {
		t.Fatalf("%T does not implement storage.Filler", s)
	}
	ctx := context.Background()
	var batch []storage.Account
	for i := range 3 {
		batch = append(batch, fillAccount(i))
	}
	if err := f.Fill(ctx, batch); err != nil {
		t.Fatalf("Fill: %v", err)
	}
	for _, a := range batch {
		u, err := s.GetUser(ctx, a.User.ID)
		if err != nil {
			t.Fatalf("GetUser: %v", err)
		}
		mustEqual(t, "user", u, a.User)
		id, err := s.GetIdentity(ctx, a.Identity.Provider, a.Identity.Subject)
		if err != nil {
			t.Fatalf("GetIdentity: %v", err)
		}
		a.Identity.UserID = a.User.ID
		mustEqual(t, "identity", id, a.Identity)
		sess, err := s.GetSession(ctx, a.Session.ID)
		if err != nil {
			t.Fatalf("GetSession: %v", err)
		}
		a.Session.UserID = a.User.ID
		mustEqual(t, "session", sess, a.Session)
		rt, err := s.GetRefreshToken(ctx, a.Refresh.Hash)
		if err != nil {
			t.Fatalf("GetRefreshToken: %v", err)
		}
		a.Refresh.SessionID = a.Session.ID
		mustEqual(t, "refresh token", rt, a.Refresh)
	}
	// The filled token is a live link: it rotates.
	next := storage.RefreshToken{Hash: "fill-rt-next", SessionID: batch[0].Session.ID, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	if _, err := s.RotateRefreshToken(ctx, batch[0].Refresh.Hash, next, []byte("sealed"), t0.Add(time.Minute)); err != nil {
		t.Fatalf("RotateRefreshToken of a filled token: %v", err)
	}
	// All or nothing: account 3 is new, account 1 is taken.
	err := f.Fill(ctx, []storage.Account{fillAccount(3), fillAccount(1)})
	wantErr(t, "Fill with a taken key", err, storage.ErrAlreadyExists)
	if _, err := s.GetUser(ctx, fillAccount(3).User.ID); err == nil {
		t.Fatal("a failed Fill stored part of its batch")
	}
}
