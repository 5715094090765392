// Package secretbox seals the secrets the broker keeps for others (the
// client secrets and private keys of runtime connections) under the
// operator's secrets_key, with XChaCha20-Poly1305: a database dump
// without the key reveals none of them. Each sealed value is bound to a
// label (which connection, which field), so that a value copied into
// another record does not open there.
package secretbox

import (
	"context"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/chacha20poly1305"
)

// ErrWrongKey: a sealed value does not open under this key: it was sealed
// under another secrets_key, or altered.
var ErrWrongKey = errors.New("secretbox: does not open with this secrets_key (a different key, or an altered value)")

// version starts every sealed value, so that a later format (another
// cipher, a key id) can be told from this one.
const version = "v1"

var enc = base64.RawURLEncoding

// Box seals and opens secrets under one key.
type Box struct{ aead cipher.AEAD }

// New returns a Box for a 32-byte key.
func New(key []byte) (*Box, error) {
	aead, err := chacha20poly1305.NewX(key)
	if err != nil {
		return nil, fmt.Errorf("secretbox: %w", err)
	}
	return &Box{aead}, nil
}

// Seal seals plaintext bound to label: "v1.<label>.<nonce and
// ciphertext>", each part base64url. The label is the AEAD's associated
// data, so it cannot be changed without Open failing; a random 192-bit
// nonce never repeats in practice (XChaCha20, draft-irtf-cfrg-xchacha §3).
func (b *Box) Seal(plaintext, label string) string {
	nonce := make([]byte, chacha20poly1305.NonceSizeX, chacha20poly1305.NonceSizeX+len(plaintext)+b.aead.Overhead())
	_, _ = rand.Read(nonce) // crypto/rand.Read never fails (Go 1.24+)
	sealed := b.aead.Seal(nonce, nonce, []byte(plaintext), []byte(label))
	return version + "." + enc.EncodeToString([]byte(label)) + "." + enc.EncodeToString(sealed)
}

// Open returns the plaintext of a value Seal made under this key. Its
// label is authenticated too, so that a caller that checks Label before
// opening knows the value was sealed for what it expects.
func (b *Box) Open(sealed string) (string, error) {
	label, data, ok := parse(sealed)
	if !ok || len(data) < chacha20poly1305.NonceSizeX {
		return "", errors.New("secretbox: not a sealed value")
	}
	n := chacha20poly1305.NonceSizeX
	plain, err := b.aead.Open(nil, data[:n], data[n:], []byte(label))
	if err != nil {
		return "", ErrWrongKey
	}
	return string(plain), nil
}

// Label returns the label sealed is bound to ("" if it is not a sealed
// value); it is authentic once Open has succeeded.
func Label(sealed string) string {
	label, _, _ := parse(sealed)
	return label
}

func parse(sealed string) (label string, data []byte, ok bool) {
	parts := strings.Split(sealed, ".")
	if len(parts) != 3 || parts[0] != version {
		return "", nil, false
	}
	l, err1 := enc.DecodeString(parts[1])
	d, err2 := enc.DecodeString(parts[2])
	if err1 != nil || err2 != nil {
		return "", nil, false
	}
	return string(l), d, true
}

// Secrets is where every replica finds the same value under one name
// (storage.Secrets).
type Secrets interface {
	Secret(ctx context.Context, name string, value []byte) ([]byte, error)
}

// checkName names the value by which a broker tells, at start, whether
// its secrets_key is the one the database's secrets were sealed with.
const (
	checkName  = "secrets-key-check-v1"
	checkLabel = "secrets_key check"
)

// CheckKey makes sure b's key is the database's: the first broker to use
// a key stores a value sealed with it; every later start opens that value,
// and a different key fails here, at start, rather than at the first
// sign-in through a connection.
func (b *Box) CheckKey(ctx context.Context, s Secrets) error {
	stored, err := s.Secret(ctx, checkName, []byte(b.Seal(checkLabel, checkLabel)))
	if err != nil {
		return fmt.Errorf("secretbox: check secrets_key: %w", err)
	}
	if _, err := b.Open(string(stored)); err != nil || Label(string(stored)) != checkLabel {
		return fmt.Errorf("secrets_key is not the key this database's secrets were sealed with: %w", ErrWrongKey)
	}
	return nil
}
