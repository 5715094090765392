package storagetest

import (
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
		err = s.CreateSession(ctx, storage.Session{ID: "s1", UserID: "u1", CreatedAt: at, ExpiresAt: at.Add(time.Hour)})
	}
	if err == nil {
		err = s.CreateRefreshToken(ctx, storage.RefreshToken{Hash: "rt", SessionID: "s1", CreatedAt: at, ExpiresAt: at.Add(time.Hour)})
	}
	if err != nil {
		tb.Fatalf("seed: %v", err)
	}
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
		newToken := func() storage.RefreshToken {
			return storage.RefreshToken{Hash: "rt-" + strconv.FormatInt(ids.Add(1), 10), SessionID: "s1", CreatedAt: at, ExpiresAt: at.Add(time.Hour)}
		}
		b.SetParallelism(32) // 32 × GOMAXPROCS chains
		b.RunParallel(func(pb *testing.PB) {
			current := newToken()
			if err := s.CreateRefreshToken(b.Context(), current); err != nil {
				b.Error(err)
				return
			}
			for pb.Next() {
				next := newToken()
				if _, err := s.RotateRefreshToken(b.Context(), current.Hash, next, sealed, at); err != nil {
					b.Error(err)
					return
				}
				current = next
			}
		})
	})

	// One authorization code's life: issued at the callback, redeemed at
	// the token endpoint.
	b.Run("CreateAndRedeemCode", func(b *testing.B) {
		s := newStore(b)
		for i := 0; b.Loop(); i++ {
			c := storage.AuthCode{Hash: "code-" + strconv.Itoa(i), TenantID: "t", SessionID: "s1", UserID: "u1", ExpiresAt: at.Add(time.Minute)}
			if err := s.CreateCode(b.Context(), c); err != nil {
				b.Fatal(err)
			}
			if _, err := s.RedeemCode(b.Context(), c.Hash, at); err != nil {
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
