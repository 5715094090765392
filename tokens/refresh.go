package tokens

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"strings"
)

// A refresh token is "<session id>.<256 random bits>". The session id lets
// the broker check the family before touching the chain; it is no secret
// (access tokens carry it as sid) and, being part of what is hashed,
// cannot be swapped.
func newRefreshToken(sessionID string) string { return sessionID + "." + NewOpaque() }

func refreshSession(token string) (string, bool) {
	sid, secret, ok := strings.Cut(token, ".")
	return sid, ok && sid != "" && len(secret) == 43 && len(token) <= 128
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
