// Package jwstest builds JWS compact tokens by hand, as an attacker or an
// insider holding a key (but not the broker's code) would, for tests that
// feed them to the broker's verifier.
package jwstest

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
)

// Segment is v as a JWS segment: base64url (unpadded) of its JSON.
func Segment(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// SignES256 signs header and claims with key: a compact JWS whatever
// the header says its algorithm is.
func SignES256(key *ecdsa.PrivateKey, header map[string]any, claims any) string {
	input := Segment(header) + "." + Segment(claims)
	sum := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, key, sum[:])
	if err != nil {
		panic(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}
