package tokens

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"slices"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/socialbroker/broker/storage"
)

// Signing algorithms the broker offers. Asymmetric only: apps verify with
// the published keys and never share a secret with the broker (RFC 8725 §3.1).
const (
	ES256 = "ES256"
	EdDSA = "EdDSA"
	RS256 = "RS256"
)

// key is one loaded signing key.
type key struct {
	id      string
	alg     string
	method  jwt.SigningMethod
	private crypto.Signer
	created time.Time
	retired time.Time
}

// KeySetConfig configures a KeySet.
type KeySetConfig struct {
	Alg string // ES256 (default), EdDSA or RS256
	// Rotation is the age at which a signing key is replaced.
	Rotation time.Duration
	// MaxTokenTTL is the longest a token a key signs stays in use (an
	// access token until its exp, an ID token as a logout hint as long as
	// its session); a retired key stays published that long so rotation
	// never breaks a token still in use.
	MaxTokenTTL time.Duration
	Now         func() time.Time
}

// KeySet holds the broker's signing keys: the one that signs, and every key
// that may still verify a live token, as loaded from storage.
type KeySet struct {
	store storage.Keys
	cfg   KeySetConfig

	mu      sync.RWMutex
	signing *key
	byID    map[string]*key
	methods []string // algorithms of the loaded keys, for the parser allow-list
	jwks    []byte
}

// NewKeySet returns an empty KeySet; Refresh loads it.
func NewKeySet(store storage.Keys, cfg KeySetConfig) (*KeySet, error) {
	if cfg.Alg == "" {
		cfg.Alg = ES256
	}
	if _, err := signingMethod(cfg.Alg); err != nil {
		return nil, err
	}
	if cfg.Rotation <= 0 || cfg.MaxTokenTTL <= 0 {
		return nil, fmt.Errorf("tokens: key rotation and max token TTL must be positive")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &KeySet{store: store, cfg: cfg}, nil
}

// prepublish is how long a new key is published before it signs, so that
// other replicas and apps caching the JWKS learn it before they meet a
// token signed with it.
func (ks *KeySet) prepublish() time.Duration { return ks.cfg.Rotation / 10 }

// Refresh loads the keys from storage, creates the next key when the
// signing key nears the end of its rotation period, retires keys that a
// newer one has replaced, and rebuilds the JWKS. Call it at start and
// periodically.
func (ks *KeySet) Refresh(ctx context.Context) error {
	now := ks.cfg.Now()
	stored, err := ks.store.ListKeys(ctx, now)
	if err != nil {
		return fmt.Errorf("tokens: list keys: %w", err)
	}
	keys, err := parseKeys(stored)
	if err != nil {
		return err
	}
	newest := newestOfAlg(keys, ks.cfg.Alg)
	if newest == nil || now.Sub(newest.created) >= ks.cfg.Rotation-ks.prepublish() {
		k, err := ks.createKey(ctx, now)
		if err != nil {
			return err
		}
		keys = append([]*key{k}, keys...)
	}
	signing := ks.pickSigning(keys, now)
	for _, k := range keys {
		if k != signing && k.retired.IsZero() && k.created.Before(signing.created) {
			if err := ks.store.RetireKey(ctx, k.id, now, now.Add(ks.cfg.MaxTokenTTL+time.Minute)); err != nil {
				return fmt.Errorf("tokens: retire key: %w", err)
			}
			k.retired = now
		}
	}
	jwks, err := buildJWKS(keys)
	if err != nil {
		return err
	}
	byID := make(map[string]*key, len(keys))
	var methods []string
	for _, k := range keys {
		byID[k.id] = k
		if !slices.Contains(methods, k.alg) {
			methods = append(methods, k.alg)
		}
	}
	ks.mu.Lock()
	ks.signing, ks.byID, ks.methods, ks.jwks = signing, byID, methods, jwks
	ks.mu.Unlock()
	return nil
}

// pickSigning chooses the newest key of the configured algorithm that has
// been published for the prepublish period; if none has, the oldest one,
// which is already signing (the very first key of a new deployment signs at once).
func (ks *KeySet) pickSigning(keys []*key, now time.Time) *key {
	var fallback *key
	for _, k := range keys { // newest first
		if k.alg != ks.cfg.Alg || !k.retired.IsZero() {
			continue
		}
		fallback = k // ends as the oldest: the key that signs already
		if now.Sub(k.created) >= ks.prepublish() {
			return k
		}
	}
	if fallback == nil {
		return newestOfAlg(keys, ks.cfg.Alg)
	}
	return fallback
}

// Rotate creates a new key now; it starts signing after the prepublish
// period (or at once on a KeySet with no other key of its algorithm).
func (ks *KeySet) Rotate(ctx context.Context) error {
	if _, err := ks.createKey(ctx, ks.cfg.Now()); err != nil {
		return err
	}
	return ks.Refresh(ctx)
}

func (ks *KeySet) createKey(ctx context.Context, now time.Time) (*key, error) {
	priv, err := generate(ks.cfg.Alg)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("tokens: marshal key: %w", err)
	}
	k, err := newKey(ks.cfg.Alg, priv, now)
	if err != nil {
		return nil, err
	}
	err = ks.store.CreateKey(ctx, storage.SigningKey{ID: k.id, Alg: k.alg, PrivateKey: der, CreatedAt: now})
	if err != nil {
		return nil, fmt.Errorf("tokens: store key: %w", err)
	}
	return k, nil
}

// JWKS returns the JSON Web Key Set document (RFC 7517 §5).
func (ks *KeySet) JWKS() []byte {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	return ks.jwks
}

// Alg is the algorithm new tokens are signed with.
func (ks *KeySet) Alg() string { return ks.cfg.Alg }

// Loaded reports whether a signing key is ready.
func (ks *KeySet) Loaded() bool {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	return ks.signing != nil
}

func (ks *KeySet) current() (*key, error) {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	if ks.signing == nil {
		return nil, fmt.Errorf("tokens: no signing key loaded")
	}
	return ks.signing, nil
}

// lookup returns the loaded key named kid, or nil.
func (ks *KeySet) lookup(kid string) *key {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	return ks.byID[kid]
}

// algorithms lists the algorithms of the loaded keys: the parser's allow-list.
func (ks *KeySet) algorithms() []string {
	ks.mu.RLock()
	defer ks.mu.RUnlock()
	return ks.methods
}

// sign signs claims with the current key, setting typ and kid.
func (ks *KeySet) sign(typ string, claims jwt.Claims) (string, error) {
	k, err := ks.current()
	if err != nil {
		return "", err
	}
	t := jwt.NewWithClaims(k.method, claims)
	t.Header["typ"] = typ
	t.Header["kid"] = k.id
	s, err := t.SignedString(k.private)
	if err != nil {
		return "", fmt.Errorf("tokens: sign: %w", err)
	}
	return s, nil
}

func generate(alg string) (crypto.Signer, error) {
	var (
		k   crypto.Signer
		err error
	)
	switch alg {
	case ES256:
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case EdDSA:
		_, k, err = ed25519.GenerateKey(rand.Reader)
	case RS256:
		k, err = rsa.GenerateKey(rand.Reader, 2048) // RFC 7518 §3.3: at least 2048 bits
	default:
		err = fmt.Errorf("unsupported algorithm %q", alg)
	}
	if err != nil {
		return nil, fmt.Errorf("tokens: generate key: %w", err)
	}
	return k, nil
}

func signingMethod(alg string) (jwt.SigningMethod, error) {
	switch alg {
	case ES256:
		return jwt.SigningMethodES256, nil
	case EdDSA:
		return jwt.SigningMethodEdDSA, nil
	case RS256:
		return jwt.SigningMethodRS256, nil
	}
	return nil, fmt.Errorf("tokens: unsupported signing algorithm %q (want ES256, EdDSA or RS256)", alg)
}

func newKey(alg string, priv crypto.Signer, created time.Time) (*key, error) {
	method, err := signingMethod(alg)
	if err != nil {
		return nil, err
	}
	jwk, err := publicJWK(alg, priv.Public())
	if err != nil {
		return nil, err
	}
	return &key{id: thumbprint(jwk), alg: alg, method: method, private: priv, created: created}, nil
}

func parseKeys(stored []storage.SigningKey) ([]*key, error) {
	keys := make([]*key, 0, len(stored))
	for _, s := range stored {
		p, err := x509.ParsePKCS8PrivateKey(s.PrivateKey)
		if err != nil {
			return nil, fmt.Errorf("tokens: parse key %s: %w", s.ID, err)
		}
		signer, ok := p.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("tokens: key %s is not a signer", s.ID)
		}
		k, err := newKey(s.Alg, signer, s.CreatedAt)
		if err != nil {
			return nil, err
		}
		if k.id != s.ID {
			return nil, fmt.Errorf("tokens: key %s does not match its id", s.ID)
		}
		k.retired = s.RetiredAt
		keys = append(keys, k)
	}
	return keys, nil
}

func newestOfAlg(keys []*key, alg string) *key {
	for _, k := range keys {
		if k.alg == alg && k.retired.IsZero() { // a retired key never signs again
			return k
		}
	}
	return nil
}

// publicJWK is the public half as an RFC 7517 JWK, members in the order
// RFC 7638 §3.2 requires for the thumbprint.
func publicJWK(alg string, pub crypto.PublicKey) (map[string]string, error) {
	b64 := base64.RawURLEncoding.EncodeToString
	switch p := pub.(type) {
	case *ecdsa.PublicKey:
		if alg != ES256 {
			break
		}
		raw, err := p.Bytes() // uncompressed point 0x04 || X || Y, fixed-width
		if err != nil {
			return nil, fmt.Errorf("tokens: encode EC key: %w", err)
		}
		return map[string]string{"crv": "P-256", "kty": "EC", "x": b64(raw[1:33]), "y": b64(raw[33:65])}, nil
	case ed25519.PublicKey:
		if alg != EdDSA {
			break
		}
		return map[string]string{"crv": "Ed25519", "kty": "OKP", "x": b64(p)}, nil
	case *rsa.PublicKey:
		if alg != RS256 {
			break
		}
		return map[string]string{"e": b64(big.NewInt(int64(p.E)).Bytes()), "kty": "RSA", "n": b64(p.N.Bytes())}, nil
	}
	return nil, fmt.Errorf("tokens: key type %T does not fit algorithm %s", pub, alg)
}

// thumbprint is the RFC 7638 JWK thumbprint, used as kid: stable, derived
// from the key itself, and free of anything an attacker could steer.
func thumbprint(jwk map[string]string) string {
	// encoding/json sorts map keys, which is the lexicographic order RFC 7638 wants.
	b, _ := json.Marshal(jwk)
	sum := sha256.Sum256(b)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func buildJWKS(keys []*key) ([]byte, error) {
	set := struct {
		Keys []map[string]string `json:"keys"`
	}{Keys: []map[string]string{}}
	for _, k := range keys {
		jwk, err := publicJWK(k.alg, k.private.Public())
		if err != nil {
			return nil, err
		}
		jwk["kid"], jwk["alg"], jwk["use"] = k.id, k.alg, "sig"
		set.Keys = append(set.Keys, jwk)
	}
	return json.Marshal(set)
}
