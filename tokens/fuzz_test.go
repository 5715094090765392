package tokens_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/socialbroker/broker/storage"
	"github.com/socialbroker/broker/tokens"
	"github.com/socialbroker/broker/tokens/jwstest"
)

// fuzzKeyPEM is a fixed ES256 key used only by FuzzParseAccessToken, so
// that the checked-in corpus holds tokens that verify (testdata/fuzz).
const fuzzKeyPEM = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgrWILf7ZNe8/ZRpvF
zrSpsqYmo8qcTa+w9OWybbJl2UGhRANCAATtY+gys3WJ62cvU1y9adyk2KD8a3JA
FF/oHrRlpoxmcg7PqdpM79jkvjHlixuVjhn7DmWma22QfsG2Ajba4Nrm
-----END PRIVATE KEY-----
`

const fuzzIssuer = "https://auth.example.com"

// fuzzNow is the fuzz key set's clock: the corpus tokens live around it.
var fuzzNow = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// fuzzKeys is an in-memory storage.Keys holding fixed keys.
type fuzzKeys struct {
	mu   sync.Mutex
	keys []storage.SigningKey
}

func (s *fuzzKeys) CreateKey(_ context.Context, k storage.SigningKey) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = append([]storage.SigningKey{k}, s.keys...)
	return nil
}

func (s *fuzzKeys) ListKeys(context.Context, time.Time) ([]storage.SigningKey, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.keys), nil
}

func (s *fuzzKeys) RetireKey(context.Context, string, time.Time, time.Time) error { return nil }

// fuzzKeySet loads the fixed key; it returns the key set, the key's kid
// and its public key.
func fuzzKeySet(tb testing.TB) (*tokens.KeySet, string, *ecdsa.PrivateKey) {
	tb.Helper()
	block, _ := pem.Decode([]byte(fuzzKeyPEM))
	p, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		tb.Fatal(err)
	}
	priv := p.(*ecdsa.PrivateKey)
	raw, _ := priv.PublicKey.Bytes()
	b64 := base64.RawURLEncoding.EncodeToString
	jwk, _ := json.Marshal(map[string]string{"crv": "P-256", "kty": "EC", "x": b64(raw[1:33]), "y": b64(raw[33:65])})
	sum := sha256.Sum256(jwk) // RFC 7638 thumbprint: the broker's kid
	kid := b64(sum[:])
	store := &fuzzKeys{keys: []storage.SigningKey{{
		ID: kid, Alg: tokens.ES256, PrivateKey: block.Bytes, CreatedAt: fuzzNow.Add(-time.Hour),
	}}}
	ks, err := tokens.NewKeySet(store, tokens.KeySetConfig{
		Alg: tokens.ES256, Rotation: 720 * time.Hour, MaxTokenTTL: time.Hour, Now: func() time.Time { return fuzzNow },
	})
	if err != nil {
		tb.Fatal(err)
	}
	if err := ks.Refresh(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return ks, kid, priv
}

func jwtTime(t time.Time) *jwt.NumericDate { return jwt.NewNumericDate(t) }

// signedByUs is the fuzz oracle, independent of the parser: raw is a
// compact JWS whose header names our key and ES256, whose typ is at+jwt,
// and whose signature verifies under our public key.
func signedByUs(raw, kid string, pub *ecdsa.PublicKey) bool {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return false
	}
	dec := base64.RawURLEncoding.Strict()
	hb, err1 := dec.DecodeString(parts[0])
	sig, err2 := dec.DecodeString(parts[2])
	if err1 != nil || err2 != nil || len(sig) != 64 {
		return false
	}
	var h struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		Typ string `json:"typ"`
	}
	if json.Unmarshal(hb, &h) != nil || h.Alg != "ES256" || h.Kid != kid ||
		strings.TrimPrefix(strings.ToLower(h.Typ), "application/") != "at+jwt" {
		return false
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	return ecdsa.Verify(pub, sum[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:]))
}

// FuzzParseAccessToken: whatever the input, ParseAccessToken does not
// panic, fails only with ErrInvalidToken or ErrTokenExpired, and accepts
// only tokens our key signed as access tokens, for our issuer, unexpired.
func FuzzParseAccessToken(f *testing.F) {
	ks, kid, priv := fuzzKeySet(f)
	pub := &priv.PublicKey
	valid := func(edit func(*tokens.AccessClaims)) string {
		c := &tokens.AccessClaims{ClientID: "app", Scope: "openid", SID: "sid", TID: "app", Roles: []string{"admin"}}
		c.Issuer, c.Subject, c.ID, c.Audience = fuzzIssuer, "user", "jti", []string{"app"}
		c.IssuedAt, c.ExpiresAt = jwtTime(fuzzNow.Add(-time.Minute)), jwtTime(fuzzNow.Add(14*time.Minute))
		if edit != nil {
			edit(c)
		}
		tok, err := ks.SignAccessToken(c)
		if err != nil {
			f.Fatal(err)
		}
		return tok
	}
	good := valid(nil)
	if _, err := ks.ParseAccessToken(good, fuzzIssuer); err != nil || !signedByUs(good, kid, pub) {
		f.Fatalf("the valid seed does not verify (%v) or the oracle refuses it", err)
	}
	parts := strings.Split(good, ".")
	var claims map[string]any
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	json.Unmarshal(payload, &claims)
	// Our key, but not an access token's header: the typ and alg checks
	// are all that stands between these and acceptance.
	for _, h := range []map[string]any{
		{"alg": "ES256", "kid": kid, "typ": "JWT"},
		{"alg": "ES256", "kid": kid},
		{"alg": "ES256", "kid": kid, "typ": "at+jwt", "crit": []string{"exp"}},
		{"alg": "ES256", "typ": "at+jwt"},
	} {
		f.Add(jwstest.SignES256(priv, h, claims))
	}
	for _, seed := range []string{
		good,
		valid(func(c *tokens.AccessClaims) { c.ExpiresAt = jwtTime(fuzzNow.Add(-time.Second)) }),
		valid(func(c *tokens.AccessClaims) { c.Issuer = "https://evil.test" }),
		valid(func(c *tokens.AccessClaims) { c.NotBefore = jwtTime(fuzzNow.Add(time.Hour)) }),
		valid(func(c *tokens.AccessClaims) { c.Audience = []string{"other"} }),
		"", ".", "..", "a.b.c", parts[0] + "." + parts[1] + ".",
		"eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0." + parts[1] + ".",
		"eyJhbGciOiJIUzI1NiIsInR5cCI6ImF0K2p3dCJ9." + parts[1] + "." + parts[2],
		good + ".", good + "." + parts[2], parts[0] + "==." + parts[1] + "." + parts[2],
		strings.Repeat("A", tokens.MaxTokenBytes+1),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		claims, err := ks.ParseAccessToken(raw, fuzzIssuer)
		if err != nil {
			if !errors.Is(err, tokens.ErrInvalidToken) && !errors.Is(err, tokens.ErrTokenExpired) {
				t.Fatalf("error %v wraps neither ErrInvalidToken nor ErrTokenExpired", err)
			}
			if claims != nil {
				t.Fatal("claims returned with an error")
			}
			return
		}
		if !signedByUs(raw, kid, pub) {
			t.Fatalf("accepted a token our key did not sign as an access token: %q", raw)
		}
		if claims.Issuer != fuzzIssuer || !claims.ExpiresAt.After(fuzzNow) || len(claims.Audience) != 1 ||
			claims.Audience[0] != claims.ClientID || claims.SID == "" || claims.TID == "" {
			t.Fatalf("accepted claims %+v", claims)
		}
	})
}
