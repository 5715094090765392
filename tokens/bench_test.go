package tokens

import (
	"testing"
)

// The signing and parsing benchmarks measure what every token endpoint
// call and every API request behind the broker pays; BenchmarkRefresh adds
// the SQLite round trips (fsync included) of one rotation.

func BenchmarkSignAccessToken(b *testing.B) {
	for _, alg := range allAlgs {
		b.Run(alg, func(b *testing.B) {
			store, _ := newStore(b)
			clock := newClock()
			ks := newKeySet(b, store, alg, clock)
			c := accessClaims(clock.Now())
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ks.SignAccessToken(c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParseAccessToken(b *testing.B) {
	for _, alg := range allAlgs {
		b.Run(alg, func(b *testing.B) {
			store, _ := newStore(b)
			clock := newClock()
			ks := newKeySet(b, store, alg, clock)
			token, err := ks.SignAccessToken(accessClaims(clock.Now()))
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := ks.ParseAccessToken(token, testIssuer); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRefresh rotates one chain: each iteration presents the token
// the previous one returned.
func BenchmarkRefresh(b *testing.B) {
	f := newServiceFixture(b)
	current := f.login(b, "openid email").RefreshToken
	b.ReportAllocs()
	for b.Loop() {
		g, err := f.svc.Refresh(b.Context(), current, allow)
		if err != nil {
			b.Fatal(err)
		}
		current = g.RefreshToken
	}
}

// BenchmarkVerify is /auth/check's part: a token verified before (the
// usual case: an API sees the same token many times) and its session's
// revocation looked up.
func BenchmarkVerify(b *testing.B) {
	f := newServiceFixture(b)
	token := f.login(b, "openid email").AccessToken
	if _, err := verify(b, f.svc, token); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.svc.Verify(b.Context(), token); err != nil {
			b.Fatal(err)
		}
	}
}
