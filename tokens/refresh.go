package tokens

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"strings"
	"time"
)

// A refresh token is "<session id>.<secret>", the secret made by
// NewStamped and so ending in the token's issue time. The session id lets
// the broker check the family before touching the chain; it is no secret
// (access tokens carry it as sid) and, being part of what is hashed,
// cannot be swapped. With a million live tokens, keys that were only a
// hash made a rotation on SQLite a third dearer than on an empty database
// (issue 22); tokens issued before the stamp keep their plain hash as key
// (StoredKey).
func newRefreshToken(sessionID string, now time.Time) string {
	return sessionID + "." + NewStamped(now)
}

func refreshSession(token string) (string, bool) {
	sid, secret, ok := strings.Cut(token, ".")
	return sid, ok && sid != "" && WellFormed(secret) && len(token) <= 128
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
