package tokens

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"time"
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

// NewTimeID returns a fresh identifier of 128 bits that sorts after those
// made earlier: 48 bits of now's milliseconds, then 80 random bits, in a
// URL-safe alphabet in ASCII order (so string order is time order), of
// the same length and characters as NewID's. For the records written at
// every sign-in (sessions, broker sessions): a new id lands at the end of
// its table's index instead of on a random page (issue 22). Not for users:
// a user id is the sub of every token, and need not tell when the account
// was made.
func NewTimeID(now time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMilli())<<16)
	_, _ = rand.Read(b[6:])
	return sortable.EncodeToString(b[:])
}

// sortable is base64 with the URL-safe alphabet in ASCII order.
var sortable = base64.NewEncoding("-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz").WithPadding(base64.NoPadding)

// Hash is how secrets are stored: SHA-256, base64url. The secrets carry 256
// random bits, so an unsalted fast hash is enough to make a leaked table
// useless.
func Hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
