package providers

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// AppleIssuer is Sign in with Apple's issuer.
const AppleIssuer = "https://appleid.apple.com"

// AppleScopes are asked of Apple when a section names none: Apple has no
// profile scope; name and email are what it can release.
func AppleScopes() []string { return []string{"openid", "name", "email"} }

// AppleConfig configures Sign in with Apple.
type AppleConfig struct {
	// OIDC.ClientID is the Services ID; OIDC.ClientSecret is unused: the
	// broker signs its own (see NewApple). OIDC.Issuer defaults to
	// AppleIssuer.
	OIDC       OIDCConfig
	TeamID     string // the Apple Developer team id: the secret's iss
	KeyID      string // the Sign in with Apple key's id: the secret's kid
	PrivateKey string // that key, the .p8 file's PEM (PKCS #8, P-256)
}

// Apple client secrets: Apple refuses one whose exp is more than six
// months (15,777,000 s) after its iat. The broker signs short-lived ones
// and signs the next well before the last expires, so no operator ever
// pastes a secret that silently stops working half a year later.
const (
	appleSecretTTL   = 24 * time.Hour
	appleSecretRenew = 12 * time.Hour // sign anew when less than this is left
	// AppleSecretMaxTTL is Apple's limit on a client secret's lifetime.
	AppleSecretMaxTTL = 15777000 * time.Second
)

// NewApple returns the provider for Sign in with Apple: OpenID Connect
// with three departures, each handled here.
//   - The client secret is an ES256 JWT signed with the team's key
//     (iss = team id, sub = Services ID, aud = the issuer).
//   - Asking for name or email requires response_mode=form_post: the
//     browser returns with a cross-site POST (see package callback).
//   - The name is not in the ID token: it arrives once, on the first
//     sign-in only, as the user form field ({"name":{"firstName",
//     "lastName"},"email"}); it is kept as the identity's name.
//
// Apple verifies every address it releases, the private relay's
// (@privaterelay.appleid.com) included, which forward to a verified inbox:
// with TrustEmail they are vouched for. email_verified and
// is_private_email arrive as the strings "true"/"false" or as booleans.
func NewApple(cfg AppleConfig) (*OIDC, error) {
	if cfg.OIDC.Name == "" {
		cfg.OIDC.Name = "apple"
	}
	if cfg.OIDC.Issuer == "" {
		cfg.OIDC.Issuer = AppleIssuer
	}
	if len(cfg.OIDC.Scopes) == 0 {
		cfg.OIDC.Scopes = AppleScopes()
	}
	name := cfg.OIDC.Name
	switch {
	case cfg.TeamID == "":
		return nil, fmt.Errorf("apple: %s: team_id is required", name)
	case cfg.KeyID == "":
		return nil, fmt.Errorf("apple: %s: key_id is required", name)
	}
	key, err := parseP8(cfg.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("apple: %s: private_key: %w", name, err)
	}
	cfg.OIDC.ClientSecret = ""
	p, err := NewOIDC(cfg.OIDC)
	if err != nil {
		return nil, err
	}
	s := &appleSecret{key: key, kid: cfg.KeyID, iss: cfg.TeamID, sub: cfg.OIDC.ClientID,
		aud: cfg.OIDC.Issuer, now: p.cfg.Now}
	p.q.clientSecret = s.get
	p.q.authParams = map[string]string{"response_mode": "form_post"}
	p.q.formPost = true
	p.q.finish = appleName
	return p, nil
}

// parseP8 reads the .p8 file Apple hands out: a PKCS #8 P-256 key.
// Operators often paste it through an environment variable that lost its
// line breaks as literal "\n": those are restored.
func parseP8(s string) (*ecdsa.PrivateKey, error) {
	s = strings.ReplaceAll(strings.TrimSpace(s), `\n`, "\n")
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, errors.New("not a PEM block (the .p8 file's content, BEGIN PRIVATE KEY...)")
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("not a PKCS #8 key: %w", err)
	}
	ec, ok := k.(*ecdsa.PrivateKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, errors.New("not a P-256 (ES256) key")
	}
	return ec, nil
}

// appleSecret signs the client secret and keeps it until it is due for
// renewal.
type appleSecret struct {
	key           *ecdsa.PrivateKey
	kid, iss, sub string
	aud           string
	now           func() time.Time

	mu      sync.Mutex
	current string
	renew   time.Time
}

func (s *appleSecret) get() (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if s.current != "" && now.Before(s.renew) {
		return s.current, nil
	}
	t := jwt.NewWithClaims(jwt.SigningMethodES256, jwt.RegisteredClaims{
		Issuer: s.iss, Subject: s.sub, Audience: jwt.ClaimStrings{s.aud},
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(appleSecretTTL)),
	})
	t.Header["kid"] = s.kid
	signed, err := t.SignedString(s.key)
	if err != nil {
		return "", err
	}
	s.current, s.renew = signed, now.Add(appleSecretTTL-appleSecretRenew)
	return signed, nil
}

// appleUser is the user form field of Apple's first authorization
// response.
type appleUser struct {
	Name struct {
		FirstName string `json:"firstName"`
		LastName  string `json:"lastName"`
	} `json:"name"`
}

// appleName takes the name from the user field when Apple sent it. It is
// unsigned, so it supplies a display name only; the email and the subject
// come from the verified ID token.
func appleName(req ExchangeRequest, _ *claims, id *Identity) error {
	raw := req.Response["user"]
	if raw == "" || len(raw) > 4096 {
		return nil
	}
	var u appleUser
	if json.Unmarshal([]byte(raw), &u) != nil {
		return nil // a name is not worth refusing a verified sign-in over
	}
	if n := strings.TrimSpace(u.Name.FirstName + " " + u.Name.LastName); n != "" {
		id.Name = n
	}
	return nil
}
