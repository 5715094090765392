package tokens

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
)

// opaqueBytes is the entropy of every opaque secret the broker hands out
// (codes, refresh tokens, states): 256 bits, beyond guessing (RFC 6749 §10.10).
const opaqueBytes = 32

// NewOpaque returns a fresh URL-safe random secret of 256 bits.
func NewOpaque() string {
	b := make([]byte, opaqueBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// NewID returns a fresh opaque identifier of 128 bits for users, sessions
// and token ids: unique, but not a secret.
func NewID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Hash is how secrets are stored: SHA-256, base64url. The secrets carry 256
// random bits, so an unsalted fast hash is enough to make a leaked table
// useless.
func Hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
