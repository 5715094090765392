package tokens

import (
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/socialbroker/broker/internal/claims"
)

// Verification outcomes callers branch on.
var (
	// ErrTokenExpired: a genuine token of ours whose exp has passed. Apps
	// react by refreshing, so it is told apart from every other fault.
	ErrTokenExpired = errors.New("token expired")
	// ErrInvalidToken: anything else: malformed, forged, wrong type,
	// issuer or audience, revoked session.
	ErrInvalidToken = errors.New("invalid token")
)

// InvalidTokenError is a refused token with the reason why: a short fixed
// phrase fit for an RFC 6750 error_description, never token content.
// errors.Is(err, ErrInvalidToken) holds for it; errors.As finds the reason.
type InvalidTokenError struct{ Reason string }

func (e *InvalidTokenError) Error() string { return ErrInvalidToken.Error() + ": " + e.Reason }

// Is makes an InvalidTokenError an ErrInvalidToken.
func (e *InvalidTokenError) Is(target error) bool { return target == ErrInvalidToken }

// Invalid returns an InvalidTokenError giving reason.
func Invalid(reason string) error { return &InvalidTokenError{Reason: reason} }

// MaxTokenBytes bounds what is parsed at all: larger input is refused
// before any base64 decoding or signature check (RFC 8725 §3.x: cheap
// rejection first). A broker access token is well under 2 KiB.
const MaxTokenBytes = 8 << 10

// Media types for the typ header: RFC 9068 §2.1 for access tokens; ID
// tokens use plain "JWT" so no ID token can pass as an access token (RFC 8725 §3.11).
const (
	typAccess = "at+jwt"
	typID     = "JWT"
)

// AccessClaims are the claims of a broker access token (RFC 9068 §2.2).
type AccessClaims struct {
	jwt.RegisteredClaims
	ClientID string   `json:"client_id"`
	Scope    string   `json:"scope"`
	SID      string   `json:"sid"`
	TID      string   `json:"tid"`
	Roles    []string `json:"roles"`
	Email    string   `json:"email,omitempty"`
	// Custom are the tenant's custom claims for access tokens, written
	// after the others when signing (never read back: a verified token's
	// Custom is empty).
	Custom []claims.Claim `json:"-"`
}

// MarshalJSON writes the claims and then the custom ones.
func (c *AccessClaims) MarshalJSON() ([]byte, error) {
	type plain AccessClaims // without this method
	return withCustom((*plain)(c), c.Custom)
}

// IDClaims are the claims of an OIDC ID token (OIDC Core §2).
type IDClaims struct {
	jwt.RegisteredClaims
	AuthTime          int64    `json:"auth_time"`
	Nonce             string   `json:"nonce,omitempty"`
	SID               string   `json:"sid"`
	Email             string   `json:"email,omitempty"`
	EmailVerified     bool     `json:"email_verified"`
	Name              string   `json:"name,omitempty"`
	Picture           string   `json:"picture,omitempty"`
	PreferredUsername string   `json:"preferred_username,omitempty"`
	Roles             []string `json:"roles,omitempty"`
	// Custom are the tenant's custom claims for ID tokens.
	Custom []claims.Claim `json:"-"`
}

// MarshalJSON writes the claims and then the custom ones.
func (c *IDClaims) MarshalJSON() ([]byte, error) {
	type plain IDClaims
	return withCustom((*plain)(c), c.Custom)
}

// withCustom marshals v, a JSON object, with custom claims appended.
// Their names never collide with the others': internal/claims refuses
// every name the broker sets, and allows none that JSON must escape.
func withCustom(v any, custom []claims.Claim) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil || len(custom) == 0 {
		return b, err
	}
	n := len(b)
	for _, c := range custom {
		n += len(c.Name) + len(c.Value) + 4
	}
	out := make([]byte, 0, n)
	out = append(out, b[:len(b)-1]...) // without its closing brace
	for _, c := range custom {
		out = append(out, ',', '"')
		out = append(out, c.Name...)
		out = append(out, '"', ':')
		out = append(out, c.Value...)
	}
	return append(out, '}'), nil
}

// SignAccessToken signs c as an RFC 9068 access token.
func (ks *KeySet) SignAccessToken(c *AccessClaims) (string, error) {
	return ks.sign(typAccess, c)
}

// SignIDToken signs c as an OIDC ID token.
func (ks *KeySet) SignIDToken(c *IDClaims) (string, error) {
	return ks.sign(typID, c)
}

// ParseAccessToken verifies raw as an access token this issuer signed and
// returns its claims. It checks, in this order: size, shape, the typ
// header, a kid naming one of our keys whose algorithm equals the header's
// alg (so neither "none" nor an HMAC keyed with a public key can pass,
// RFC 8725 §2.1 and §3.1), the signature, then iss, exp, iat and nbf.
// Headers such as jku, x5u and jwk are never looked at. Session revocation
// is the caller's concern.
func (ks *KeySet) ParseAccessToken(raw, issuer string) (*AccessClaims, error) {
	if len(raw) > MaxTokenBytes || strings.Count(raw, ".") != 2 {
		return nil, Invalid("malformed token")
	}
	p := jwt.NewParser(
		jwt.WithValidMethods(ks.algorithms()),
		jwt.WithIssuer(issuer),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		// Replicas' clocks differ a little: one slightly behind must not
		// refuse what a faster one just minted as "not valid yet". The
		// leeway applies to exp too, which is checked strictly below.
		jwt.WithLeeway(MaxClockSkew),
		jwt.WithTimeFunc(ks.cfg.Now),
		jwt.WithStrictDecoding(),
	)
	claims := &AccessClaims{}
	_, err := p.ParseWithClaims(raw, claims, ks.keyFunc(typAccess))
	switch {
	case err == nil && ks.cfg.Now().Before(claims.ExpiresAt.Time):
	case err == nil, errors.Is(err, jwt.ErrTokenExpired) && onlyExpired(err):
		return nil, ErrTokenExpired
	default:
		return nil, Invalid(describe(err))
	}
	if claims.Subject == "" || claims.SID == "" || claims.TID == "" || claims.ClientID == "" {
		return nil, Invalid("required claims missing")
	}
	if len(claims.Audience) != 1 || claims.Audience[0] != claims.ClientID {
		return nil, Invalid("audience does not match client")
	}
	return claims, nil
}

// ParseIDTokenHint verifies an ID token this issuer signed, given back as
// id_token_hint at logout. Expiry is not checked: OIDC RP-Initiated Logout
// §2 lets the hint be an expired token; it only names who logs out.
func (ks *KeySet) ParseIDTokenHint(raw, issuer string) (*IDClaims, error) {
	if len(raw) > MaxTokenBytes || strings.Count(raw, ".") != 2 {
		return nil, Invalid("malformed token")
	}
	p := jwt.NewParser(
		jwt.WithValidMethods(ks.algorithms()),
		jwt.WithoutClaimsValidation(), // expiry deliberately ignored; iss checked below
		jwt.WithStrictDecoding(),
	)
	claims := &IDClaims{}
	if _, err := p.ParseWithClaims(raw, claims, ks.keyFunc(typID)); err != nil {
		return nil, Invalid(describe(err))
	}
	if claims.Issuer != issuer {
		return nil, Invalid("wrong issuer")
	}
	if claims.Subject == "" || claims.SID == "" || len(claims.Audience) != 1 {
		return nil, Invalid("required claims missing")
	}
	return claims, nil
}

// onlyExpired reports whether expiry is the token's only fault: the
// validator joins every claim error, and a token that is also wrong in
// another way must be refused as invalid, not sent to refresh.
func onlyExpired(err error) bool {
	for _, other := range []error{jwt.ErrTokenInvalidIssuer, jwt.ErrTokenNotValidYet, jwt.ErrTokenUsedBeforeIssued, jwt.ErrTokenRequiredClaimMissing, jwt.ErrTokenInvalidAudience} {
		if errors.Is(err, other) {
			return false
		}
	}
	return true
}

// keyFunc resolves the verification key from kid and refuses tokens whose
// typ or alg do not fit it.
func (ks *KeySet) keyFunc(typ string) jwt.Keyfunc {
	return func(t *jwt.Token) (any, error) {
		if got, _ := t.Header["typ"].(string); !typMatches(got, typ) {
			return nil, errors.New("wrong token type")
		}
		if _, ok := t.Header["crit"]; ok {
			// RFC 7515 §4.1.11: we understand no extension, so none may be critical.
			return nil, errors.New("unsupported critical header")
		}
		kid, _ := t.Header["kid"].(string)
		k := ks.lookup(kid)
		if k == nil {
			return nil, errors.New("unknown key")
		}
		if t.Method.Alg() != k.alg {
			return nil, errors.New("algorithm does not match key")
		}
		return k.private.Public(), nil
	}
}

// typMatches compares a typ header with the wanted media type; RFC 9068 §4
// allows the "application/" prefix, and media types are case-insensitive.
func typMatches(got, want string) bool {
	got = strings.TrimPrefix(strings.ToLower(got), "application/")
	return got == strings.ToLower(want)
}

// describe turns a jwt error into a short reason fit for a client.
func describe(err error) string {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return "malformed token"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return "signature is invalid"
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return "token cannot be verified"
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return "wrong issuer"
	case errors.Is(err, jwt.ErrTokenNotValidYet), errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return "token is not valid yet"
	default:
		return "token is invalid"
	}
}

// numericDate converts t for a claim.
func numericDate(t time.Time) *jwt.NumericDate { return jwt.NewNumericDate(t) }
