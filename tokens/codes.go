package tokens

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
)

// S256Challenge is the PKCE S256 code_challenge of verifier (RFC 7636 §4.2).
func S256Challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// ValidVerifier reports whether v has the form RFC 7636 §4.1 requires:
// 43 to 128 characters of [A-Za-z0-9-._~].
func ValidVerifier(v string) bool {
	return len(v) >= 43 && len(v) <= 128 && unreservedOnly(v)
}

// ValidChallenge reports whether c can be an S256 challenge: the base64url
// encoding of 32 bytes, 43 characters.
func ValidChallenge(c string) bool {
	if len(c) != 43 {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	return err == nil && len(b) == sha256.Size
}

// verifierMatches checks verifier against an S256 challenge in constant time.
func verifierMatches(verifier, challenge string) bool {
	return ValidVerifier(verifier) &&
		subtle.ConstantTimeCompare([]byte(S256Challenge(verifier)), []byte(challenge)) == 1
}

func unreservedOnly(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c >= '0' && c <= '9',
			c == '-', c == '.', c == '_', c == '~':
		default:
			return false
		}
	}
	return true
}
