package storagetest

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/socialbroker/broker/storage"
)

// Seed creates user u1, its session s1 and the session's live refresh
// token "rt": the fixture the benchmarks and backend-specific tests share.
func Seed(tb testing.TB, s storage.Store) {
	tb.Helper()
	ctx := tb.Context()
	at := time.UnixMilli(1000)
	err := s.CreateUser(ctx, storage.User{ID: "u1", CreatedAt: at}, storage.Identity{Provider: "p", Subject: "1"})
	if err == nil {
		err = signIn(ctx, s, "s1", "rt", at)
	}
	if err != nil {
		tb.Fatalf("seed: %v", err)
	}
}

// signIn stores what a sign-in of user u1 stores: session sid with its
// code, then the code's redemption, which starts the chain with token.
func signIn(ctx context.Context, s storage.Store, sid, token string, at time.Time) error {
	c := storage.AuthCode{Hash: "code-" + sid, TenantID: "t", SessionID: sid, UserID: "u1", ExpiresAt: at.Add(time.Minute)}
	err := s.CreateSession(ctx, storage.NewSession{
		Session: storage.Session{ID: sid, UserID: "u1", CreatedAt: at, ExpiresAt: at.Add(time.Hour)},
		Codes:   []storage.AuthCode{c},
	})
	if err != nil {
		return err
	}
	_, err = s.RedeemCode(ctx, c.Hash, at, storage.RefreshToken{Hash: token, SessionID: sid, CreatedAt: at, ExpiresAt: at.Add(time.Hour)})
	return err
}

// Bench measures the store round trips that bound the token endpoint,
// commit (and so fsync) included, with the same sub-benchmarks on every
// backend so their figures compare. newStore returns an empty store
// closed at cleanup.
func Bench(b *testing.B, newStore func(testing.TB) storage.Store) {
	at := time.UnixMilli(1000)
	sealed := make([]byte, 64)

	b.Run("RotateRefreshToken", func(b *testing.B) {
		s := newStore(b)
		Seed(b, s)
		current := "rt"
		for i := 0; b.Loop(); i++ {
			next := storage.RefreshToken{Hash: "rt-" + strconv.Itoa(i), SessionID: "s1", CreatedAt: at, ExpiresAt: at.Add(time.Hour)}
			if _, err := s.RotateRefreshToken(b.Context(), current, next, sealed, at); err != nil {
				b.Fatal(err)
			}
			current = next.Hash
		}
	})

	// Many independent chains at once, as many clients refreshing: a
	// single-writer store serialises them (and can share each commit among
	// them); others run them side by side.
	b.Run("RotateRefreshTokenParallel", func(b *testing.B) {
		s := newStore(b)
		Seed(b, s)
		var ids atomic.Int64
		b.SetParallelism(32) // 32 × GOMAXPROCS chains
		b.RunParallel(func(pb *testing.PB) {
			sid := "s-" + strconv.FormatInt(ids.Add(1), 10)
			current := storage.RefreshToken{Hash: "rt-" + sid}
			if err := signIn(b.Context(), s, sid, current.Hash, at); err != nil {
				b.Error(err)
				return
			}
			for i := 0; pb.Next(); i++ {
				next := storage.RefreshToken{Hash: "rt-" + sid + "." + strconv.Itoa(i), SessionID: sid, CreatedAt: at, ExpiresAt: at.Add(time.Hour)}
				if _, err := s.RotateRefreshToken(b.Context(), current.Hash, next, sealed, at); err != nil {
					b.Error(err)
					return
				}
				current = next
			}
		})
	})

	// A sign-in's writes after the upstream: the session with its code at
	// the callback, the code's redemption (with the first refresh token)
	// at the token endpoint.
	b.Run("SignIn", func(b *testing.B) {
		s := newStore(b)
		Seed(b, s)
		for i := 0; b.Loop(); i++ {
			sid := "s-" + strconv.Itoa(i)
			if err := signIn(b.Context(), s, sid, "rt-"+sid, at); err != nil {
				b.Fatal(err)
			}
		}
	})

	b.Run("GetSessionParallel", func(b *testing.B) {
		s := newStore(b)
		Seed(b, s)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := s.GetSession(b.Context(), "s1"); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}
