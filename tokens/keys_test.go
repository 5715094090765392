package tokens

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/socialbroker/broker/storage"
)

var allAlgs = []string{ES256, EdDSA, RS256}

// publicFromJWK rebuilds a verification key from the JWKS members alone,
// as an app would.
func publicFromJWK(tb testing.TB, jwk map[string]string) crypto.PublicKey {
	tb.Helper()
	dec := func(name string) []byte {
		b, err := b64.DecodeString(jwk[name])
		if err != nil || len(b) == 0 {
			tb.Fatalf("JWK member %q = %q: not base64url (%v)", name, jwk[name], err)
		}
		return b
	}
	switch jwk["kty"] {
	case "EC":
		if jwk["crv"] != "P-256" {
			tb.Fatalf("EC crv: got %q, want P-256", jwk["crv"])
		}
		x, y := dec("x"), dec("y")
		if len(x) != 32 || len(y) != 32 {
			tb.Fatalf("EC x, y: got %d and %d bytes, want 32 each (RFC 7518 §6.2.1.2: full width)", len(x), len(y))
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), slices.Concat([]byte{4}, x, y))
		if err != nil {
			tb.Fatalf("EC point from JWKS: %v", err)
		}
		return pub
	case "OKP":
		if jwk["crv"] != "Ed25519" {
			tb.Fatalf("OKP crv: got %q, want Ed25519", jwk["crv"])
		}
		x := dec("x")
		if len(x) != ed25519.PublicKeySize {
			tb.Fatalf("OKP x: got %d bytes, want %d", len(x), ed25519.PublicKeySize)
		}
		return ed25519.PublicKey(x)
	case "RSA":
		n, e := new(big.Int).SetBytes(dec("n")), new(big.Int).SetBytes(dec("e"))
		if n.BitLen() < 2048 {
			tb.Fatalf("RSA n: got %d bits, want at least 2048", n.BitLen())
		}
		return &rsa.PublicKey{N: n, E: int(e.Int64())}
	}
	tb.Fatalf("unexpected kty %q", jwk["kty"])
	return nil
}

func TestKeySetFirstRefreshPublishesOneKey(t *testing.T) {
	tests := []struct {
		alg, kty, crv string
	}{
		{ES256, "EC", "P-256"},
		{EdDSA, "OKP", "Ed25519"},
		{RS256, "RSA", ""},
	}
	for _, tt := range tests {
		t.Run(tt.alg, func(t *testing.T) {
			store, _ := newStore(t)
			clock := newClock()
			ks, err := NewKeySet(store, KeySetConfig{Alg: tt.alg, Rotation: testRotation, MaxTokenTTL: testMaxTokenTTL, Now: clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			if ks.Loaded() {
				t.Fatal("Loaded before Refresh: got true, want false")
			}
			if err := ks.Refresh(t.Context()); err != nil {
				t.Fatalf("Refresh: %v", err)
			}
			if !ks.Loaded() {
				t.Fatal("Loaded after Refresh: got false, want true")
			}
			stored, err := store.ListKeys(t.Context(), clock.Now())
			if err != nil {
				t.Fatal(err)
			}
			if len(stored) != 1 || stored[0].Alg != tt.alg {
				t.Fatalf("stored keys: got %d (%+v), want one %s key", len(stored), stored, tt.alg)
			}

			set := parseJWKS(t, ks.JWKS())
			if len(set.Keys) != 1 {
				t.Fatalf("JWKS keys: got %d, want 1: %s", len(set.Keys), ks.JWKS())
			}
			jwk := set.Keys[0]
			for member, want := range map[string]string{"kty": tt.kty, "alg": tt.alg, "use": "sig", "kid": stored[0].ID} {
				if jwk[member] != want {
					t.Errorf("JWK %s: got %q, want %q", member, jwk[member], want)
				}
			}
			if tt.crv != "" && jwk["crv"] != tt.crv {
				t.Errorf("JWK crv: got %q, want %q", jwk["crv"], tt.crv)
			}
			if want := rfc7638(t, jwk); jwk["kid"] != want {
				t.Errorf("kid: got %q, want the RFC 7638 thumbprint %q", jwk["kid"], want)
			}
			for _, private := range []string{"d", "p", "q", "dp", "dq", "qi"} {
				if _, ok := jwk[private]; ok {
					t.Errorf("JWK publishes private member %q", private)
				}
			}

			token, err := ks.SignAccessToken(accessClaims(clock.Now()))
			if err != nil {
				t.Fatalf("SignAccessToken: %v", err)
			}
			h := headerOf(t, token)
			if h["kid"] != jwk["kid"] || h["alg"] != tt.alg || h["typ"] != "at+jwt" {
				t.Errorf("header: got %v, want kid %s, alg %s, typ at+jwt", h, jwk["kid"], tt.alg)
			}
			pub := publicFromJWK(t, jwk)
			p := jwt.NewParser(jwt.WithValidMethods([]string{jwk["alg"]}), jwt.WithTimeFunc(clock.Now))
			if _, err := p.ParseWithClaims(token, &AccessClaims{}, func(*jwt.Token) (any, error) { return pub, nil }); err != nil {
				t.Errorf("verify with the key rebuilt from the JWKS: %v", err)
			}

			before := ks.JWKS()
			clock.Advance(time.Hour)
			if err := ks.Refresh(t.Context()); err != nil {
				t.Fatalf("second Refresh: %v", err)
			}
			again, err := store.ListKeys(t.Context(), clock.Now())
			if err != nil {
				t.Fatal(err)
			}
			if len(again) != 1 {
				t.Errorf("keys after second Refresh: got %d, want still 1", len(again))
			}
			if !bytes.Equal(ks.JWKS(), before) {
				t.Errorf("JWKS after second Refresh:\n got %s\nwant %s", ks.JWKS(), before)
			}
		})
	}
}

// TestThumbprintRFC7638Example checks the kid derivation against the
// example of RFC 7638 §3.1.
func TestThumbprintRFC7638Example(t *testing.T) {
	const (
		n    = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
		want = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
	)
	nb, err := b64.DecodeString(n)
	if err != nil {
		t.Fatal(err)
	}
	jwk, err := publicJWK(RS256, &rsa.PublicKey{N: new(big.Int).SetBytes(nb), E: 65537})
	if err != nil {
		t.Fatal(err)
	}
	if got := thumbprint(jwk); got != want {
		t.Errorf("thumbprint: got %q, want %q", got, want)
	}
}

// keyLabels names kids A, B, C... in the order a test first meets them.
type keyLabels map[string]string

func (l keyLabels) of(kid string) string {
	if _, ok := l[kid]; !ok {
		l[kid] = string(rune('A' + len(l)))
	}
	return l[kid]
}

func (l keyLabels) all(kids []string) []string {
	var out []string
	for _, k := range kids {
		out = append(out, l.of(k))
	}
	return out
}

func TestKeySetRotation(t *testing.T) {
	const (
		prepublish = testRotation / 10
		maxTTL     = testMaxTokenTTL
	)
	// The token signed at "next key not yet signing" by A expires at
	// R - 1s + maxTTL; it must verify until then, across A's retirement.
	tests := []struct {
		name      string
		at        time.Duration // since the first key
		published []string      // JWKS kids, newest first
		signer    string
		keepToken bool  // the token signed at this step is the "old token" of the later steps
		oldToken  error // verifying the old token, once there is one
	}{
		{name: "first key", at: 0, published: []string{"A"}, signer: "A"},
		{name: "before the prepublish point", at: testRotation - prepublish - time.Second, published: []string{"A"}, signer: "A"},
		{name: "next key published", at: testRotation - prepublish, published: []string{"B", "A"}, signer: "A"},
		{name: "next key not yet signing", at: testRotation - time.Second, published: []string{"B", "A"}, signer: "A", keepToken: true},
		{name: "next key signs", at: testRotation, published: []string{"B", "A"}, signer: "B", oldToken: nil},
		{name: "retired key verifies its last token", at: testRotation + maxTTL - 2*time.Second, published: []string{"B", "A"}, signer: "B", oldToken: nil},
		{name: "retired key published for max token TTL", at: testRotation + maxTTL, published: []string{"B", "A"}, signer: "B", oldToken: ErrTokenExpired},
		{name: "retired key leaves the JWKS", at: testRotation + maxTTL + 2*time.Minute, published: []string{"B"}, signer: "B", oldToken: ErrInvalidToken},
	}
	store, _ := newStore(t)
	clock := newClock()
	ks := newKeySet(t, store, ES256, clock)
	labels := keyLabels{}
	var oldToken string
	for _, tt := range tests {
		clock.Set(tt.at)
		if err := ks.Refresh(t.Context()); err != nil {
			t.Fatalf("%s: Refresh: %v", tt.name, err)
		}
		published := labels.all(parseJWKS(t, ks.JWKS()).kids())
		if !slices.Equal(published, tt.published) {
			t.Errorf("%s: JWKS: got %v, want %v", tt.name, published, tt.published)
		}
		stored, err := store.ListKeys(t.Context(), clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		if len(stored) != len(tt.published) {
			t.Errorf("%s: stored keys: got %d, want %d", tt.name, len(stored), len(tt.published))
		}
		c := accessClaims(clock.Now())
		c.ExpiresAt = jwt.NewNumericDate(clock.Now().Add(maxTTL))
		token, err := ks.SignAccessToken(c)
		if err != nil {
			t.Fatalf("%s: sign: %v", tt.name, err)
		}
		if got := labels.of(kidOf(t, token)); got != tt.signer {
			t.Errorf("%s: signed by %s, want %s", tt.name, got, tt.signer)
		}
		if _, err := ks.ParseAccessToken(token, testIssuer); err != nil {
			t.Errorf("%s: fresh token: %v", tt.name, err)
		}
		if oldToken != "" {
			_, err := ks.ParseAccessToken(oldToken, testIssuer)
			if !errors.Is(err, tt.oldToken) {
				t.Errorf("%s: token signed by A before rotation: got %v, want %v", tt.name, err, tt.oldToken)
			}
		}
		if tt.keepToken {
			oldToken = token
		}
	}

	// A's retirement is recorded once B signs, for every replica to see.
	stored, err := store.ListKeys(t.Context(), clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range stored {
		if labels.of(k.ID) == "B" && !k.RetiredAt.IsZero() {
			t.Errorf("B retired at %v, want still signing", k.RetiredAt)
		}
	}
}

func TestKeySetRetiresAtRotation(t *testing.T) {
	store, _ := newStore(t)
	clock := newClock()
	ks := newKeySet(t, store, ES256, clock)
	first := parseJWKS(t, ks.JWKS()).kids()[0]
	clock.Set(testRotation - testRotation/10)
	if err := ks.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	clock.Set(testRotation)
	if err := ks.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	stored, err := store.ListKeys(t.Context(), clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range stored {
		switch {
		case k.ID == first && !k.RetiredAt.Equal(t0.Add(testRotation)):
			t.Errorf("first key RetiredAt: got %v, want %v", k.RetiredAt, t0.Add(testRotation))
		case k.ID == first && k.ExpiresAt.Before(t0.Add(testRotation+testMaxTokenTTL)):
			t.Errorf("first key ExpiresAt: got %v, want no earlier than retirement + MaxTokenTTL %v", k.ExpiresAt, t0.Add(testRotation+testMaxTokenTTL))
		case k.ID != first && !k.RetiredAt.IsZero():
			t.Errorf("new key RetiredAt: got %v, want zero", k.RetiredAt)
		}
	}
}

func TestKeySetRotate(t *testing.T) {
	tests := []struct {
		name       string
		rotations  int           // Rotate calls on a fresh KeySet, none Refreshed before
		advance    time.Duration // after the last Rotate, before a Refresh
		wantKeys   int
		wantSigner int // index, oldest first, of the key that signs
	}{
		{name: "first Rotate signs at once", rotations: 1, wantKeys: 1, wantSigner: 0},
		{name: "second Rotate is prepublished", rotations: 2, wantKeys: 2, wantSigner: 0},
		{name: "just before the prepublish period", rotations: 2, advance: testRotation/10 - time.Second, wantKeys: 2, wantSigner: 0},
		{name: "after the prepublish period", rotations: 2, advance: testRotation / 10, wantKeys: 2, wantSigner: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store, _ := newStore(t)
			clock := newClock()
			ks, err := NewKeySet(store, KeySetConfig{Alg: ES256, Rotation: testRotation, MaxTokenTTL: testMaxTokenTTL, Now: clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			var created []string // oldest first
			for i := range tt.rotations {
				if i > 0 {
					clock.Advance(time.Second)
				}
				if err := ks.Rotate(t.Context()); err != nil {
					t.Fatalf("Rotate: %v", err)
				}
				created = append(created, parseJWKS(t, ks.JWKS()).kids()[0])
			}
			clock.Advance(tt.advance)
			if err := ks.Refresh(t.Context()); err != nil {
				t.Fatalf("Refresh: %v", err)
			}
			if got := len(parseJWKS(t, ks.JWKS()).Keys); got != tt.wantKeys {
				t.Errorf("JWKS keys: got %d, want %d", got, tt.wantKeys)
			}
			token, err := ks.SignAccessToken(accessClaims(clock.Now()))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := kidOf(t, token), created[tt.wantSigner]; got != want {
				t.Errorf("signer: got %s, want key #%d %s", got, tt.wantSigner, want)
			}
		})
	}
}

// TestKeySetReplicasConverge runs two KeySets on one store, as two broker
// replicas would, refreshing in either order.
func TestKeySetReplicasConverge(t *testing.T) {
	store, _ := newStore(t)
	clock := newClock()
	newReplica := func() *KeySet {
		ks, err := NewKeySet(store, KeySetConfig{Alg: ES256, Rotation: testRotation, MaxTokenTTL: testMaxTokenTTL, Now: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		return ks
	}
	r1, r2 := newReplica(), newReplica()
	tests := []struct {
		name     string
		at       time.Duration
		first    *KeySet // refreshes first (and so creates any new key)
		wantKeys int
	}{
		{name: "start", at: 0, first: r1, wantKeys: 1},
		{name: "next key prepublished by the other replica", at: testRotation - testRotation/10, first: r2, wantKeys: 2},
		{name: "next key signs", at: testRotation, first: r1, wantKeys: 2},
		{name: "old key expired", at: testRotation + testMaxTokenTTL + 2*time.Minute, first: r2, wantKeys: 1},
	}
	for _, tt := range tests {
		clock.Set(tt.at)
		second := r2
		if tt.first == r2 {
			second = r1
		}
		for _, ks := range []*KeySet{tt.first, second} {
			if err := ks.Refresh(t.Context()); err != nil {
				t.Fatalf("%s: Refresh: %v", tt.name, err)
			}
		}
		if !bytes.Equal(r1.JWKS(), r2.JWKS()) {
			t.Errorf("%s: JWKS differ:\nreplica 1 %s\nreplica 2 %s", tt.name, r1.JWKS(), r2.JWKS())
		}
		if got := len(parseJWKS(t, r1.JWKS()).Keys); got != tt.wantKeys {
			t.Errorf("%s: JWKS keys: got %d, want %d", tt.name, got, tt.wantKeys)
		}
		t1, err := r1.SignAccessToken(accessClaims(clock.Now()))
		if err != nil {
			t.Fatal(err)
		}
		t2, err := r2.SignAccessToken(accessClaims(clock.Now()))
		if err != nil {
			t.Fatal(err)
		}
		if kidOf(t, t1) != kidOf(t, t2) {
			t.Errorf("%s: replicas sign with different keys: %s and %s", tt.name, kidOf(t, t1), kidOf(t, t2))
		}
		if _, err := r2.ParseAccessToken(t1, testIssuer); err != nil {
			t.Errorf("%s: replica 2 verifying replica 1's token: %v", tt.name, err)
		}
		if _, err := r1.ParseAccessToken(t2, testIssuer); err != nil {
			t.Errorf("%s: replica 1 verifying replica 2's token: %v", tt.name, err)
		}
	}
}

// TestKeySetAlgorithmChange reconfigures the algorithm of a running
// deployment: the next KeySet on the same store must sign with a key of
// the new algorithm, and still verify what the old key signed.
func TestKeySetAlgorithmChange(t *testing.T) {
	tests := []struct {
		name string
		algs []string // configured one after the other, a minute apart
	}{
		{name: "ES256 to EdDSA", algs: []string{ES256, EdDSA}},
		{name: "ES256 to RS256", algs: []string{ES256, RS256}},
		{name: "EdDSA to ES256", algs: []string{EdDSA, ES256}},
		// Back to an algorithm whose key was retired by the switch: that
		// retired key must not sign again, or its tokens would outlive its
		// publication in the JWKS.
		{name: "ES256 to EdDSA and back", algs: []string{ES256, EdDSA, ES256}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store, _ := newStore(t)
			clock := newClock()
			var (
				tokens  []string
				signers []string
				ks      *KeySet
			)
			for i, alg := range tt.algs {
				if i > 0 {
					clock.Advance(time.Minute)
				}
				ks = newKeySet(t, store, alg, clock)
				c := accessClaims(clock.Now())
				c.ExpiresAt = jwt.NewNumericDate(clock.Now().Add(testMaxTokenTTL))
				token, err := ks.SignAccessToken(c)
				if err != nil {
					t.Fatal(err)
				}
				h := headerOf(t, token)
				if h["alg"] != alg {
					t.Errorf("after configuring %s: token alg %v, want %s", alg, h["alg"], alg)
				}
				kid := kidOf(t, token)
				if slices.Contains(signers, kid) {
					t.Errorf("after configuring %s: signed by %s, a key an earlier configuration retired", alg, kid)
				}
				signers = append(signers, kid)
				tokens = append(tokens, token)
				if !slices.Contains(parseJWKS(t, ks.JWKS()).kids(), kid) {
					t.Errorf("after configuring %s: signing key %s not in the JWKS", alg, kid)
				}
			}
			// The latest KeySet verifies every token still alive.
			clock.Advance(time.Minute)
			for i, token := range tokens {
				if _, err := ks.ParseAccessToken(token, testIssuer); err != nil {
					t.Errorf("token signed under %s: %v", tt.algs[i], err)
				}
			}
			stored, err := store.ListKeys(t.Context(), clock.Now())
			if err != nil {
				t.Fatal(err)
			}
			var live []storage.SigningKey
			for _, k := range stored {
				if k.RetiredAt.IsZero() {
					live = append(live, k)
				}
			}
			if want := tt.algs[len(tt.algs)-1]; len(live) != 1 || live[0].Alg != want {
				t.Errorf("unretired keys: got %+v, want one %s key", live, want)
			}
		})
	}
}

func TestNewKeySetRefusesBadConfig(t *testing.T) {
	store, _ := newStore(t)
	tests := []struct {
		name string
		cfg  KeySetConfig
	}{
		{"HS256", KeySetConfig{Alg: "HS256", Rotation: time.Hour, MaxTokenTTL: time.Hour}},
		{"none", KeySetConfig{Alg: "none", Rotation: time.Hour, MaxTokenTTL: time.Hour}},
		{"zero rotation", KeySetConfig{Alg: ES256, MaxTokenTTL: time.Hour}},
		{"zero max token TTL", KeySetConfig{Alg: ES256, Rotation: time.Hour}},
	}
	for _, tt := range tests {
		if _, err := NewKeySet(store, tt.cfg); err == nil {
			t.Errorf("%s: got no error, want one", tt.name)
		}
	}
}
