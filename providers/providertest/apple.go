package providertest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// AppleOptions configures a fake Sign in with Apple.
type AppleOptions struct {
	// ClientID is the Services ID; default "fake.services.id".
	ClientID     string
	TeamID       string // default "FAKETEAM01"
	KeyID        string // default "FAKEKEY001"
	RedirectURIs []string
	Users        []User
	Now          func() time.Time
	// BooleanClaims sends email_verified and is_private_email as JSON
	// booleans, as Apple has done for some tokens since 2024, instead of
	// the strings "true"/"false" it has always sent.
	BooleanClaims bool
	// URL, when set, makes the fake start no server of its own: URL is its
	// issuer, and the caller serves Handler() there (see OIDCOptions.URL).
	URL string
}

// Apple is a fake Sign in with Apple: OpenID Connect at URL() with Apple's
// departures, each checked or reproduced as the real service does.
//   - Authorization requests must say response_mode=form_post, and the
//     response is an auto-submitting form that POSTs to the redirect URI.
//   - The user form field ({"name":{"firstName","lastName"},"email"})
//     is sent on a user's first authorization only.
//   - The token endpoint takes client_secret_post only, and the secret
//     must be an ES256 JWT signed with the key PrivateKeyPEM returns:
//     kid = KeyID, iss = TeamID, sub = the Services ID, aud = URL(), exp
//     in the future and at most six months after iat.
//   - ID tokens carry email_verified and is_private_email (only when
//     true) as strings; no name, no userinfo endpoint.
type Apple struct {
	*OIDC
	opts AppleOptions
	key  *ecdsa.PrivateKey

	mu         sync.Mutex
	seen       map[string]bool // users who have authorized once
	lastSecret jwt.MapClaims
	lastHeader map[string]any
	secrets    int
}

// AppleSecretMaxTTL is Apple's limit on a client secret's lifetime.
const AppleSecretMaxTTL = 15777000 * time.Second

// NewApple starts a fake Sign in with Apple on 127.0.0.1.
func NewApple(opts AppleOptions) *Apple {
	if opts.ClientID == "" {
		opts.ClientID = "fake.services.id"
	}
	if opts.TeamID == "" {
		opts.TeamID = "FAKETEAM01"
	}
	if opts.KeyID == "" {
		opts.KeyID = "FAKEKEY001"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic("providertest: " + err.Error())
	}
	a := &Apple{opts: opts, key: key, seen: map[string]bool{}}
	str := func(b bool) any {
		if opts.BooleanClaims {
			return b
		}
		if b {
			return "true"
		}
		return "false"
	}
	newOIDC(OIDCOptions{Title: "Apple", ClientID: opts.ClientID, RedirectURIs: opts.RedirectURIs, Users: opts.Users, Now: opts.Now, URL: opts.URL},
		oidcQuirks{
			routes: map[string]string{
				"authorize": "GET /auth/authorize", "token": "POST /auth/token",
				"jwks": "GET /auth/keys", "userinfo": "",
			},
			doc: func(_ *http.Request, doc map[string]any) {
				iss := a.URL()
				doc["authorization_endpoint"] = iss + "/auth/authorize"
				doc["token_endpoint"] = iss + "/auth/token"
				doc["jwks_uri"] = iss + "/auth/keys"
				delete(doc, "userinfo_endpoint")
				doc["response_modes_supported"] = []string{"query", "fragment", "form_post"}
				doc["scopes_supported"] = []string{"openid", "email", "name"}
				doc["token_endpoint_auth_methods_supported"] = []string{"client_secret_post"}
				doc["claims_supported"] = []string{"aud", "email", "email_verified", "exp", "iat", "is_private_email", "iss", "nonce", "nonce_supported", "real_user_status", "sub", "transfer_sub"}
			},
			idClaims: func(u User, c map[string]any) {
				delete(c, "name")
				delete(c, "picture")
				delete(c, "preferred_username")
				delete(c, "azp")
				if _, ok := c["email"]; ok {
					c["email_verified"] = str(u.EmailVerified)
					if u.PrivateEmail {
						c["is_private_email"] = str(true)
					}
				}
				c["nonce_supported"] = true
			},
			bind: func(f *OIDC) { a.OIDC = f },
			setup: func(c *core) {
				c.formPost, c.postOnly = true, true
				c.secretOK = a.checkSecret
				c.formExtra = a.firstTimeUser
			},
		})
	return a
}

// PrivateKeyPEM is the .p8 file Apple lets the developer download once:
// the key whose signature the token endpoint expects on client secrets.
func (a *Apple) PrivateKeyPEM() string {
	der, err := x509.MarshalPKCS8PrivateKey(a.key)
	if err != nil {
		panic("providertest: " + err.Error())
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// TeamID, KeyID and ClientID are what the broker must put in its secret.
func (a *Apple) TeamID() string   { return a.opts.TeamID }
func (a *Apple) KeyID() string    { return a.opts.KeyID }
func (a *Apple) ClientID() string { return a.opts.ClientID }

// LastClientSecret returns the header and claims of the last client
// secret the token endpoint accepted, and how many it has accepted.
func (a *Apple) LastClientSecret() (header map[string]any, claims jwt.MapClaims, accepted int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.lastHeader, a.lastSecret, a.secrets
}

// ForgetUsers makes every user's next authorization a first one again
// (as when a user removes the app from their Apple ID).
func (a *Apple) ForgetUsers() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.seen = map[string]bool{}
}

func (a *Apple) checkSecret(secret string) bool {
	now := a.opts.Now()
	tok, err := jwt.Parse(secret, func(t *jwt.Token) (any, error) { return &a.key.PublicKey, nil },
		jwt.WithValidMethods([]string{"ES256"}), jwt.WithIssuer(a.opts.TeamID), jwt.WithSubject(a.opts.ClientID),
		jwt.WithAudience(a.URL()), jwt.WithIssuedAt(), jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(func() time.Time { return now }))
	if err != nil || tok.Header["kid"] != a.opts.KeyID {
		return false
	}
	c := tok.Claims.(jwt.MapClaims)
	iat, err1 := c.GetIssuedAt()
	exp, err2 := c.GetExpirationTime()
	if err1 != nil || err2 != nil || iat == nil || exp.Sub(iat.Time) > AppleSecretMaxTTL {
		return false
	}
	a.mu.Lock()
	a.lastHeader, a.lastSecret = tok.Header, c
	a.secrets++
	a.mu.Unlock()
	return true
}

// firstTimeUser is the user form field, on u's first authorization only.
func (a *Apple) firstTimeUser(u User) url.Values {
	a.mu.Lock()
	first := !a.seen[u.Subject]
	a.seen[u.Subject] = true
	a.mu.Unlock()
	if !first {
		return nil
	}
	first2, last, _ := strings.Cut(u.Name, " ")
	b, _ := json.Marshal(map[string]any{
		"name": map[string]string{"firstName": first2, "lastName": last}, "email": u.Email,
	})
	return url.Values{"user": {string(b)}}
}
