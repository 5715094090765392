package tokens

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"time"
)

// A refresh token is "<session id>.<256 random bits>.<stamp>". The session
// id lets the broker check the family before touching the chain; it is no
// secret (access tokens carry it as sid) and, being part of what is
// hashed, cannot be swapped. The stamp is the token's issue time, in
// milliseconds, as 12 hex digits: no secret either (its holder knows when
// it got it), it leads the key the token is stored under (refreshKey), so
// that keys grow with time. A new token's key then lands at the end of the
// store's index, on the page the previous one dirtied, however many tokens
// are stored; a key that is only a hash lands on a random page, which with
// a million live tokens made a rotation on SQLite a third dearer than on an
// empty database (issue 22). Tokens issued before the stamp
// ("<session id>.<secret>") keep their plain hash as key.
func newRefreshToken(sessionID string, now time.Time) string {
	return sessionID + "." + NewOpaque() + "." + fmt.Sprintf("%0*x", stampLen, now.UnixMilli())
}

// stampLen is the stamp's length in hex digits: 48 bits of milliseconds,
// enough until the year 10889.
const stampLen = 12

func refreshSession(token string) (string, bool) {
	sid, rest, ok := strings.Cut(token, ".")
	secret, stamp, stamped := strings.Cut(rest, ".")
	return sid, ok && sid != "" && len(secret) == 43 && (!stamped || isStamp(stamp)) && len(token) <= 128
}

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

// refreshKey is the key the store keeps a refresh token under: its hash,
// led by its stamp when it has one. Only for a token refreshSession
// accepts.
func refreshKey(token string) string {
	_, rest, _ := strings.Cut(token, ".")
	if _, stamp, ok := strings.Cut(rest, "."); ok {
		return stamp + Hash(token)
	}
	return Hash(token)
}

// The successor of a rotated token is kept sealed under a key derived from
// the rotated token itself. The database holds only hashes and sealed
// blobs, yet a client presenting the same token again within the reuse
// grace (two tabs refreshing at once) can be handed the very same
// successor: only the holder of the old token can open it.
func sealKey(token string) []byte {
	m := hmac.New(sha256.New, []byte(token))
	m.Write([]byte("broker refresh successor v1"))
	return m.Sum(nil)
}

func seal(token, successor string) []byte {
	aead := newAEAD(sealKey(token))
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce)
	return aead.Seal(nonce, nonce, []byte(successor), nil)
}

func open(token string, sealed []byte) (string, error) {
	aead := newAEAD(sealKey(token))
	if len(sealed) < aead.NonceSize() {
		return "", errors.New("sealed successor too short")
	}
	plain, err := aead.Open(nil, sealed[:aead.NonceSize()], sealed[aead.NonceSize():], nil)
	return string(plain), err
}

func newAEAD(key []byte) cipher.AEAD {
	block, err := aes.NewCipher(key) // a 32-byte key cannot fail
	if err != nil {
		panic(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return aead
}
