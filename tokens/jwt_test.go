package tokens

import (
	"crypto"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// signer signs hand-assembled tokens for the parser tests.
type signer struct {
	tb     testing.TB
	alg    string
	method jwt.SigningMethod
	key    crypto.Signer
}

// sign signs claims with header overrides; a nil value removes that header.
func (s signer) sign(header map[string]any, claims jwt.Claims) string {
	s.tb.Helper()
	t := jwt.NewWithClaims(s.method, claims)
	for name, v := range header {
		if v == nil {
			delete(t.Header, name)
		} else {
			t.Header[name] = v
		}
	}
	raw, err := t.SignedString(s.key)
	if err != nil {
		s.tb.Fatalf("sign: %v", err)
	}
	return raw
}

// unsigned assembles header.claims.signature by hand, for algorithms and
// signatures no library would produce.
func unsigned(tb testing.TB, header map[string]any, claims any, sig []byte) string {
	tb.Helper()
	return segment(tb, header) + "." + segment(tb, claims) + "." + b64.EncodeToString(sig)
}

// hs256 signs header.claims with HMAC-SHA256 under secret, the way an
// attacker would who takes a public key for a shared secret.
func hs256(tb testing.TB, header map[string]any, claims any, secret []byte) string {
	tb.Helper()
	input := segment(tb, header) + "." + segment(tb, claims)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(input))
	return input + "." + b64.EncodeToString(m.Sum(nil))
}

// tamperSignature flips one bit of the decoded signature.
func tamperSignature(tb testing.TB, token string) string {
	tb.Helper()
	i := strings.LastIndexByte(token, '.')
	sig, err := b64.DecodeString(token[i+1:])
	if err != nil {
		tb.Fatal(err)
	}
	sig[len(sig)/2] ^= 0x01
	return token[:i+1] + b64.EncodeToString(sig)
}

// replacePayload swaps the claims segment, keeping header and signature.
func replacePayload(tb testing.TB, token string, claims any) string {
	tb.Helper()
	parts := strings.Split(token, ".")
	parts[1] = segment(tb, claims)
	return strings.Join(parts, ".")
}

func otherAlg(alg string) string {
	if alg == ES256 {
		return RS256
	}
	return ES256
}

// parserFixture is a loaded KeySet with its signing key, plus an
// attacker's key of the same algorithm and one of another algorithm.
type parserFixture struct {
	ks       *KeySet
	clock    *fakeClock
	kid      string
	ours     signer
	attacker signer
	foreign  signer // another algorithm
}

func newParserFixture(t *testing.T, alg string) parserFixture {
	t.Helper()
	store, _ := newStore(t)
	clock := newClock()
	ks := newKeySet(t, store, alg, clock)
	k, err := ks.current()
	if err != nil {
		t.Fatal(err)
	}
	mk := func(alg string) signer {
		key, err := generate(alg)
		if err != nil {
			t.Fatal(err)
		}
		m, _ := signingMethod(alg)
		return signer{tb: t, alg: alg, method: m, key: key}
	}
	return parserFixture{
		ks: ks, clock: clock, kid: k.id,
		ours:     signer{tb: t, alg: alg, method: k.method, key: k.private},
		attacker: mk(alg),
		foreign:  mk(otherAlg(alg)),
	}
}

func (f parserFixture) attackerJWK(t *testing.T) (map[string]string, string) {
	t.Helper()
	jwk, err := publicJWK(f.attacker.alg, f.attacker.key.Public())
	if err != nil {
		t.Fatal(err)
	}
	return jwk, thumbprint(jwk)
}

// with returns valid access claims edited by edit.
func with(now time.Time, edit func(*AccessClaims)) *AccessClaims {
	c := accessClaims(now)
	edit(c)
	return c
}

func TestParseAccessToken(t *testing.T) {
	for _, alg := range allAlgs {
		t.Run(alg, func(t *testing.T) { testParseAccessToken(t, alg) })
	}
}

func testParseAccessToken(t *testing.T, alg string) {
	f := newParserFixture(t, alg)
	now := f.clock.Now()
	valid := accessClaims(now)
	hdr := func(kv ...any) map[string]any {
		h := map[string]any{"typ": "at+jwt", "kid": f.kid}
		for i := 0; i < len(kv); i += 2 {
			h[kv[i].(string)] = kv[i+1]
		}
		return h
	}
	good := f.ours.sign(hdr(), valid)

	pubDER, err := x509.MarshalPKIXPublicKey(f.ours.key.Public())
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	ourJWK, err := publicJWK(alg, f.ours.key.Public())
	if err != nil {
		t.Fatal(err)
	}
	ourJWKJSON, _ := json.Marshal(ourJWK)
	atkJWK, atkKid := f.attackerJWK(t)

	expired := with(now, func(c *AccessClaims) {
		c.IssuedAt = jwt.NewNumericDate(now.Add(-time.Hour))
		c.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Second))
	})
	oversize := f.ours.sign(hdr(), with(now, func(c *AccessClaims) {
		c.Roles = []string{strings.Repeat("r", MaxTokenBytes)}
	}))
	if len(oversize) <= MaxTokenBytes {
		t.Fatalf("oversize token: %d bytes, want more than %d", len(oversize), MaxTokenBytes)
	}

	tests := []struct {
		name  string
		token string
		want  error // nil: accepted
	}{
		{"valid", good, nil},
		{"typ application/at+jwt", f.ours.sign(hdr("typ", "application/at+jwt"), valid), nil},
		{"typ in upper case", f.ours.sign(hdr("typ", "application/AT+JWT"), valid), nil},

		{"alg none", unsigned(t, hdr("alg", "none"), valid, nil), ErrInvalidToken},
		{"alg None", unsigned(t, hdr("alg", "None"), valid, nil), ErrInvalidToken},
		{"alg NONE", unsigned(t, hdr("alg", "NONE"), valid, nil), ErrInvalidToken},
		{"alg none with a signature copied from a valid token", unsigned(t, hdr("alg", "none"), valid, []byte("x")), ErrInvalidToken},
		{"alg missing", unsigned(t, map[string]any{"typ": "at+jwt", "kid": f.kid}, valid, []byte("x")), ErrInvalidToken},
		{"HS256 keyed with the public key PEM", hs256(t, hdr("alg", "HS256"), valid, pubPEM), ErrInvalidToken},
		{"HS256 keyed with the public key DER", hs256(t, hdr("alg", "HS256"), valid, pubDER), ErrInvalidToken},
		{"HS256 keyed with the public JWK", hs256(t, hdr("alg", "HS256"), valid, ourJWKJSON), ErrInvalidToken},
		{"our kid, another algorithm, signed by its key", f.foreign.sign(hdr(), valid), ErrInvalidToken},

		{"tampered payload", replacePayload(t, good, with(now, func(c *AccessClaims) { c.Subject = "admin" })), ErrInvalidToken},
		{"tampered signature", tamperSignature(t, good), ErrInvalidToken},
		{"signature stripped", good[:strings.LastIndexByte(good, '.')+1], ErrInvalidToken},

		{"unknown kid", f.ours.sign(hdr("kid", "no-such-key"), valid), ErrInvalidToken},
		{"kid path traversal", f.ours.sign(hdr("kid", "../../etc/passwd"), valid), ErrInvalidToken},
		{"kid SQL injection", f.ours.sign(hdr("kid", "' OR 1=1 --"), valid), ErrInvalidToken},
		{"kid missing", f.ours.sign(hdr("kid", nil), valid), ErrInvalidToken},
		{"kid not a string", f.ours.sign(hdr("kid", 7), valid), ErrInvalidToken},

		{"attacker key named by jku", f.attacker.sign(hdr("kid", atkKid, "jku", "https://attacker.example/jwks.json"), valid), ErrInvalidToken},
		{"attacker key named by x5u", f.attacker.sign(hdr("kid", atkKid, "x5u", "https://attacker.example/cert.pem"), valid), ErrInvalidToken},
		{"attacker key embedded as jwk", f.attacker.sign(hdr("kid", atkKid, "jwk", atkJWK), valid), ErrInvalidToken},
		{"attacker key embedded as jwk under our kid", f.attacker.sign(hdr("jwk", atkJWK), valid), ErrInvalidToken},
		{"attacker key without kid", f.attacker.sign(hdr("kid", nil, "jwk", atkJWK), valid), ErrInvalidToken},

		{"crit header", f.ours.sign(hdr("crit", []string{"exp"}), valid), ErrInvalidToken},
		{"crit header naming an extension", f.ours.sign(hdr("crit", []string{"https://example.com/ext"}, "https://example.com/ext", true), valid), ErrInvalidToken},

		{"typ JWT", f.ours.sign(hdr("typ", "JWT"), valid), ErrInvalidToken},
		{"typ missing", f.ours.sign(hdr("typ", nil), valid), ErrInvalidToken},
		{"typ at+jwt with a suffix", f.ours.sign(hdr("typ", "at+jwt; x"), valid), ErrInvalidToken},
		{"ID token of ours", func() string {
			tok, err := f.ks.SignIDToken(idClaims(now))
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}(), ErrInvalidToken},

		{"wrong iss", f.ours.sign(hdr(), with(now, func(c *AccessClaims) { c.Issuer = "https://evil.example" })), ErrInvalidToken},
		{"iss missing", f.ours.sign(hdr(), with(now, func(c *AccessClaims) { c.Issuer = "" })), ErrInvalidToken},

		{"expired", f.ours.sign(hdr(), expired), ErrTokenExpired},
		{"expired at exactly now", f.ours.sign(hdr(), with(now, func(c *AccessClaims) {
			c.IssuedAt, c.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Hour)), jwt.NewNumericDate(now)
		})), ErrTokenExpired},
		// The leeway for clock skew never extends a token's life.
		{"expired a second ago", f.ours.sign(hdr(), with(now, func(c *AccessClaims) {
			c.IssuedAt, c.ExpiresAt = jwt.NewNumericDate(now.Add(-time.Hour)), jwt.NewNumericDate(now.Add(-time.Second))
		})), ErrTokenExpired},
		{"expired with a tampered signature", tamperSignature(t, f.ours.sign(hdr(), expired)), ErrInvalidToken},
		{"expired with a tampered payload", replacePayload(t, f.ours.sign(hdr(), valid), expired), ErrInvalidToken},
		{"expired, signed by an attacker", f.attacker.sign(hdr("kid", atkKid, "jwk", atkJWK), expired), ErrInvalidToken},
		{"expired, alg none", unsigned(t, hdr("alg", "none"), expired, nil), ErrInvalidToken},
		{"expired, unknown kid", f.ours.sign(hdr("kid", "no-such-key"), expired), ErrInvalidToken},

		{"nbf in the future", f.ours.sign(hdr(), with(now, func(c *AccessClaims) { c.NotBefore = jwt.NewNumericDate(now.Add(time.Minute)) })), ErrInvalidToken},
		{"iat in the future", f.ours.sign(hdr(), with(now, func(c *AccessClaims) { c.IssuedAt = jwt.NewNumericDate(now.Add(time.Minute)) })), ErrInvalidToken},
		// Minted by a replica whose clock is ahead of this one's, within
		// the skew replicas are allowed (iat is in whole seconds: 0.3 s
		// ahead often reads as 1 s).
		{"iat a second ahead", f.ours.sign(hdr(), with(now, func(c *AccessClaims) { c.IssuedAt = jwt.NewNumericDate(now.Add(time.Second)) })), nil},
		{"iat and nbf at the skew bound", f.ours.sign(hdr(), with(now, func(c *AccessClaims) {
			c.IssuedAt, c.NotBefore = jwt.NewNumericDate(now.Add(MaxClockSkew)), jwt.NewNumericDate(now.Add(MaxClockSkew))
		})), nil},
		{"iat past the skew bound", f.ours.sign(hdr(), with(now, func(c *AccessClaims) { c.IssuedAt = jwt.NewNumericDate(now.Add(MaxClockSkew + time.Second)) })), ErrInvalidToken},
		{"exp missing", f.ours.sign(hdr(), with(now, func(c *AccessClaims) { c.ExpiresAt = nil })), ErrInvalidToken},

		{"aud another client", f.ours.sign(hdr(), with(now, func(c *AccessClaims) { c.Audience = jwt.ClaimStrings{"other-app"} })), ErrInvalidToken},
		{"aud two clients", f.ours.sign(hdr(), with(now, func(c *AccessClaims) { c.Audience = jwt.ClaimStrings{testClient, "other-app"} })), ErrInvalidToken},
		{"aud missing", f.ours.sign(hdr(), with(now, func(c *AccessClaims) { c.Audience = nil })), ErrInvalidToken},
		{"client_id differs from aud", f.ours.sign(hdr(), with(now, func(c *AccessClaims) { c.ClientID = "other-app" })), ErrInvalidToken},
		{"sub missing", f.ours.sign(hdr(), with(now, func(c *AccessClaims) { c.Subject = "" })), ErrInvalidToken},
		{"sid missing", f.ours.sign(hdr(), with(now, func(c *AccessClaims) { c.SID = "" })), ErrInvalidToken},
		{"tid missing", f.ours.sign(hdr(), with(now, func(c *AccessClaims) { c.TID = "" })), ErrInvalidToken},

		{"oversize, validly signed", oversize, ErrInvalidToken},
		{"malformed base64 payload", strings.Replace(good, ".", ".*", 1), ErrInvalidToken},
		{"padded base64 header", strings.Replace(good, ".", "=.", 1), ErrInvalidToken},
		{"header not JSON", b64.EncodeToString([]byte("{")) + good[strings.IndexByte(good, '.'):], ErrInvalidToken},
		{"4 segments", good + ".e30", ErrInvalidToken},
		{"2 segments", good[:strings.LastIndexByte(good, '.')], ErrInvalidToken},
		{"empty string", "", ErrInvalidToken},
		{"dots only", "..", ErrInvalidToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := f.ks.ParseAccessToken(tt.token, testIssuer)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("got error %v, want the token accepted", err)
				}
				if got.Subject != valid.Subject || got.SID != valid.SID || got.ClientID != testClient {
					t.Errorf("claims: got %+v, want %+v", got, valid)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if tt.want == ErrInvalidToken && errors.Is(err, ErrTokenExpired) {
				t.Errorf("got %v: a token that is not genuinely ours must not be reported as expired", err)
			}
			if got != nil {
				t.Errorf("claims: got %+v, want nil beside an error", got)
			}
		})
	}
}

func TestParseIDTokenHint(t *testing.T) {
	for _, alg := range allAlgs {
		t.Run(alg, func(t *testing.T) { testParseIDTokenHint(t, alg) })
	}
}

func testParseIDTokenHint(t *testing.T, alg string) {
	f := newParserFixture(t, alg)
	now := f.clock.Now()
	hdr := func(kv ...any) map[string]any {
		h := map[string]any{"typ": "JWT", "kid": f.kid}
		for i := 0; i < len(kv); i += 2 {
			h[kv[i].(string)] = kv[i+1]
		}
		return h
	}
	withID := func(edit func(*IDClaims)) *IDClaims {
		c := idClaims(now)
		edit(c)
		return c
	}
	signID := func(c *IDClaims) string {
		tok, err := f.ks.SignIDToken(c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	access, err := f.ks.SignAccessToken(accessClaims(now))
	if err != nil {
		t.Fatal(err)
	}
	atkJWK, atkKid := f.attackerJWK(t)
	good := signID(idClaims(now))

	tests := []struct {
		name   string
		token  string
		wantOK bool
	}{
		{"fresh ID token", good, true},
		{"ID token expired a week ago", signID(withID(func(c *IDClaims) {
			c.IssuedAt = jwt.NewNumericDate(now.Add(-8 * 24 * time.Hour))
			c.ExpiresAt = jwt.NewNumericDate(now.Add(-7 * 24 * time.Hour))
		})), true},
		{"access token", access, false},
		{"other issuer", signID(withID(func(c *IDClaims) { c.Issuer = "https://other.example" })), false},
		{"issuer missing", signID(withID(func(c *IDClaims) { c.Issuer = "" })), false},
		{"tampered signature", tamperSignature(t, good), false},
		{"tampered payload", replacePayload(t, good, withID(func(c *IDClaims) { c.Subject = "admin" })), false},
		{"signed by an attacker with its jwk", f.attacker.sign(hdr("kid", atkKid, "jwk", atkJWK), idClaims(now)), false},
		{"signed by an attacker under our kid", f.attacker.sign(hdr(), idClaims(now)), false},
		{"alg none", unsigned(t, hdr("alg", "none"), idClaims(now), nil), false},
		{"HS256 keyed with the public JWK", hs256(t, hdr("alg", "HS256"), idClaims(now), []byte(segment(t, atkJWK))), false},
		{"crit header", f.ours.sign(hdr("crit", []string{"exp"}), idClaims(now)), false},
		{"sid missing", signID(withID(func(c *IDClaims) { c.SID = "" })), false},
		{"sub missing", signID(withID(func(c *IDClaims) { c.Subject = "" })), false},
		{"two audiences", signID(withID(func(c *IDClaims) { c.Audience = jwt.ClaimStrings{"a", "b"} })), false},
		{"4 segments", good + ".e30", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := f.ks.ParseIDTokenHint(tt.token, testIssuer)
			switch {
			case tt.wantOK && err != nil:
				t.Fatalf("got %v, want the hint accepted", err)
			case tt.wantOK && (got.Subject != "user-1" || got.SID != "sid-1"):
				t.Errorf("claims: got sub %q sid %q, want user-1, sid-1", got.Subject, got.SID)
			case !tt.wantOK && !errors.Is(err, ErrInvalidToken):
				t.Errorf("got %v, want %v", err, ErrInvalidToken)
			}
		})
	}
}

// A refusal says why in a type errors.As finds, and still is
// ErrInvalidToken for callers that only branch.
func TestInvalidTokenReason(t *testing.T) {
	f := newParserFixture(t, ES256)
	_, err := f.ks.ParseAccessToken("a.b", testIssuer)
	var ie *InvalidTokenError
	if !errors.As(err, &ie) || ie.Reason != "malformed token" || !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("ParseAccessToken(a.b) = %v; want an *InvalidTokenError saying malformed token, and ErrInvalidToken", err)
	}
}
