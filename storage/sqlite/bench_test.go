package sqlite

import (
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/socialbroker/broker/storage"
)

// The benchmarks measure store round trips on a real file, fsync included
// (synchronous=FULL), since that is what bounds a token endpoint's writes.

func BenchmarkRotateRefreshToken(b *testing.B) {
	s := openTemp(b, filepath.Join(b.TempDir(), "broker.db"))
	seed(b, s)
	at := time.UnixMilli(1000)
	sealed := make([]byte, 64)
	current := "rt"
	for i := 0; b.Loop(); i++ {
		next := storage.RefreshToken{Hash: "rt-" + strconv.Itoa(i), SessionID: "s1", CreatedAt: at, ExpiresAt: at.Add(time.Hour)}
		if _, err := s.RotateRefreshToken(b.Context(), current, next, sealed, at); err != nil {
			b.Fatal(err)
		}
		current = next.Hash
	}
}

// BenchmarkRotateRefreshTokenParallel rotates 64 independent chains at
// once, as many clients refreshing do: the single writer connection
// serialises them, and group commit shares each fsync among them.
func BenchmarkRotateRefreshTokenParallel(b *testing.B) {
	s := openTemp(b, filepath.Join(b.TempDir(), "broker.db"))
	seed(b, s)
	at := time.UnixMilli(1000)
	sealed := make([]byte, 64)
	var ids atomic.Int64
	newToken := func() storage.RefreshToken {
		return storage.RefreshToken{Hash: "rt-" + strconv.FormatInt(ids.Add(1), 10), SessionID: "s1", CreatedAt: at, ExpiresAt: at.Add(time.Hour)}
	}
	b.SetParallelism(32) // 32 × GOMAXPROCS goroutines
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
}

// BenchmarkCreateAndRedeemCode is one authorization code's life: issued at
// the callback, redeemed at the token endpoint.
func BenchmarkCreateAndRedeemCode(b *testing.B) {
	s := openTemp(b, filepath.Join(b.TempDir(), "broker.db"))
	at := time.UnixMilli(1000)
	for i := 0; b.Loop(); i++ {
		c := storage.AuthCode{Hash: "code-" + strconv.Itoa(i), TenantID: "t", SessionID: "s1", UserID: "u1", ExpiresAt: at.Add(time.Minute)}
		if err := s.CreateCode(b.Context(), c); err != nil {
			b.Fatal(err)
		}
		if _, err := s.RedeemCode(b.Context(), c.Hash, at); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetSessionParallel reads through the reader pool while nothing
// writes.
func BenchmarkGetSessionParallel(b *testing.B) {
	s := openTemp(b, filepath.Join(b.TempDir(), "broker.db"))
	seed(b, s)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.GetSession(b.Context(), "s1"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
