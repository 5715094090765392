package tokens

import (
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// BackchannelLogoutEvent is the event a logout token carries (OIDC
// Back-Channel Logout 1.0 §2.4).
const BackchannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"

// typLogout is the logout token's typ header (Back-Channel Logout 1.0
// §2.4, "explicit typing"): a logout token can then never pass for an ID
// or access token, nor they for one (RFC 8725 §3.11).
const typLogout = "logout+jwt"

// LogoutTTL is a logout token's lifetime. It is sent at once and verified
// on arrival; §2.4 recommends exp "a few minutes" after iat.
const LogoutTTL = 2 * time.Minute

// LogoutClaims are a logout token's claims (§2.4): iss, aud, iat, exp,
// jti, sub, sid and events; never a nonce (§2.4: "A nonce Claim MUST NOT
// be present", so that it cannot pass for an ID token).
type LogoutClaims struct {
	jwt.RegisteredClaims
	SID    string                    `json:"sid"`
	Events map[string]map[string]any `json:"events"`
}

// Logout names the session a logout token tells its tenant has ended.
type Logout struct {
	TenantID  string // the token's aud: the tenant's client_id
	UserID    string // sub
	SessionID string // sid, as in the session's ID tokens
}

// SignLogoutToken mints a logout token for l, issued by issuer at now.
func (ks *KeySet) SignLogoutToken(issuer string, l Logout, now time.Time) (string, error) {
	c := &LogoutClaims{SID: l.SessionID, Events: map[string]map[string]any{BackchannelLogoutEvent: {}}}
	c.Issuer, c.Subject, c.Audience, c.ID = issuer, l.UserID, []string{l.TenantID}, NewID()
	c.IssuedAt, c.ExpiresAt = numericDate(now), numericDate(now.Add(LogoutTTL))
	return ks.sign(typLogout, c)
}
