package tokens

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"
	"time"
)

// opaqueBytes is the entropy of every opaque secret the broker hands out
// (codes, refresh tokens, states): 256 bits, beyond guessing (RFC 6749 §10.10).
const opaqueBytes = 32

// opaqueLen is the length of NewOpaque's secrets: opaqueBytes in unpadded
// base64.
const opaqueLen = (opaqueBytes*8 + 5) / 6

// NewOpaque returns a fresh URL-safe random secret of 256 bits.
func NewOpaque() string {
	b := make([]byte, opaqueBytes)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// NewStamped returns a fresh secret of 256 random bits followed by "." and
// its stamp: now in milliseconds as 12 hex digits. The stamp is no secret
// (its holder knows when it got it); it leads the key the secret is stored
// under (StoredKey), so that keys grow with time. A new key then lands at
// the end of the store's index, on the page the one before it dirtied,
// however many keys are stored; a key that is only a hash lands on a
// random page, and every such page is one more to write, to log and to
// checkpoint per commit (issue 22). For the secrets written at every
// sign-in or refresh: authorization codes, broker session cookies and
// (after their session id) refresh tokens.
func NewStamped(now time.Time) string {
	return NewOpaque() + "." + fmt.Sprintf("%0*x", stampLen, now.UnixMilli())
}

// stampLen is a stamp's length in hex digits: 48 bits of milliseconds,
// enough until the year 10889.
const stampLen = 12

func isStamp(s string) bool {
	if len(s) != stampLen {
		return false
	}
	for _, c := range []byte(s) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// WellFormed reports whether s can be a secret NewStamped made, or one
// NewOpaque made before secrets were stamped.
func WellFormed(s string) bool {
	secret, stamp, stamped := strings.Cut(s, ".")
	return len(secret) == opaqueLen && (!stamped || isStamp(stamp))
}

// StoredKey is the key the store keeps a secret under: its hash, led by its
// stamp when it ends in one. A secret made before secrets were stamped
// keeps its plain hash as key, so it stays valid.
func StoredKey(secret string) string {
	if i := strings.LastIndexByte(secret, '.'); i >= 0 && isStamp(secret[i+1:]) {
		return secret[i+1:] + Hash(secret)
	}
	return Hash(secret)
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
