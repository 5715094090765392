package tokens

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/socialbroker/broker/storage/sqlite"
)

// t0 is where every fake clock starts: whole seconds, because JWT times
// are whole seconds and the store keeps milliseconds.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// fakeClock is the Now every KeySet and Service under test reads.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *fakeClock { return &fakeClock{now: t0} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Set moves the clock to t0+d.
func (c *fakeClock) Set(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t0.Add(d)
}

// newStore opens a real SQLite store in a fresh directory and returns it
// with its file path.
func newStore(tb testing.TB) (*sqlite.Store, string) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "b.db")
	s, err := sqlite.Open(tb.Context(), path)
	if err != nil {
		tb.Fatalf("sqlite.Open: %v", err)
	}
	tb.Cleanup(func() { s.Close() })
	return s, path
}

const (
	testRotation    = 30 * 24 * time.Hour
	testMaxTokenTTL = time.Hour
	testIssuer      = "https://broker.test"
	testClient      = "acme-admin"
)

// newKeySet returns a loaded KeySet of alg on store.
func newKeySet(tb testing.TB, store *sqlite.Store, alg string, clock *fakeClock) *KeySet {
	tb.Helper()
	ks, err := NewKeySet(store, KeySetConfig{Alg: alg, Rotation: testRotation, MaxTokenTTL: testMaxTokenTTL, Now: clock.Now})
	if err != nil {
		tb.Fatalf("NewKeySet(%s): %v", alg, err)
	}
	if err := ks.Refresh(tb.Context()); err != nil {
		tb.Fatalf("Refresh: %v", err)
	}
	return ks
}

// accessClaims are valid access token claims issued at now.
func accessClaims(now time.Time) *AccessClaims {
	c := &AccessClaims{ClientID: testClient, Scope: "openid email", SID: "sid-1", TID: testClient, Roles: []string{"admin"}}
	c.Issuer, c.Subject, c.ID = testIssuer, "user-1", "jti-1"
	c.Audience = jwt.ClaimStrings{testClient}
	c.IssuedAt, c.ExpiresAt = jwt.NewNumericDate(now), jwt.NewNumericDate(now.Add(15*time.Minute))
	return c
}

// idClaims are valid ID token claims issued at now.
func idClaims(now time.Time) *IDClaims {
	c := &IDClaims{AuthTime: now.Unix(), Nonce: "n-1", SID: "sid-1", Email: "alice@acme.com", EmailVerified: true}
	c.Issuer, c.Subject = testIssuer, "user-1"
	c.Audience = jwt.ClaimStrings{testClient}
	c.IssuedAt, c.ExpiresAt = jwt.NewNumericDate(now), jwt.NewNumericDate(now.Add(time.Hour))
	return c
}

var b64 = base64.RawURLEncoding

// segment is the base64url JSON of v, one part of a hand-built JWS.
func segment(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b64.EncodeToString(b)
}

// jwkSet is the JWKS document as an app sees it.
type jwkSet struct {
	Keys []map[string]string `json:"keys"`
}

func parseJWKS(tb testing.TB, doc []byte) jwkSet {
	tb.Helper()
	var set jwkSet
	if err := json.Unmarshal(doc, &set); err != nil {
		tb.Fatalf("JWKS %s: %v", doc, err)
	}
	return set
}

func (s jwkSet) kids() []string {
	var ids []string
	for _, k := range s.Keys {
		ids = append(ids, k["kid"])
	}
	return ids
}

// rfc7638 computes a JWK thumbprint the way RFC 7638 §3 spells it out:
// the required members only, in lexicographic order, no whitespace.
func rfc7638(tb testing.TB, jwk map[string]string) string {
	tb.Helper()
	var canon string
	switch jwk["kty"] {
	case "EC":
		canon = `{"crv":"` + jwk["crv"] + `","kty":"EC","x":"` + jwk["x"] + `","y":"` + jwk["y"] + `"}`
	case "OKP":
		canon = `{"crv":"` + jwk["crv"] + `","kty":"OKP","x":"` + jwk["x"] + `"}`
	case "RSA":
		canon = `{"e":"` + jwk["e"] + `","kty":"RSA","n":"` + jwk["n"] + `"}`
	default:
		tb.Fatalf("unexpected kty %q", jwk["kty"])
	}
	sum := sha256.Sum256([]byte(canon))
	return b64.EncodeToString(sum[:])
}

// headerOf decodes the JOSE header of a compact token.
func headerOf(tb testing.TB, token string) map[string]any {
	tb.Helper()
	p := jwt.NewParser()
	tok, _, err := p.ParseUnverified(token, &jwt.RegisteredClaims{})
	if err != nil {
		tb.Fatalf("ParseUnverified: %v", err)
	}
	return tok.Header
}

func kidOf(tb testing.TB, token string) string {
	tb.Helper()
	kid, _ := headerOf(tb, token)["kid"].(string)
	return kid
}
