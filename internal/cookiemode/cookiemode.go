package cookiemode

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/socialbroker/broker/internal/authn"
	"github.com/socialbroker/broker/internal/httpx"
	"github.com/socialbroker/broker/internal/oautherr"
	"github.com/socialbroker/broker/internal/tenants"
	"github.com/socialbroker/broker/tokens"
)

// csrfHeader must be "1" on /token, /auth/refresh and /auth/logout for a
// cookie-mode tenant.
const csrfHeader = "X-Broker-CSRF"

// Cookies delivers and reads cookie-mode refresh tokens.
type Cookies struct {
	Issuer string
	// IdleTTL is the refresh tokens' idle lifetime.
	IdleTTL time.Duration
	Auth    *authn.Authn
	Now     func() time.Time
}

// Tenant returns the cookie-mode tenant a request names in X-Tenant-ID,
// or nil. The header is how a cookie-mode request says which app's
// cookie to use: a browser sends every app's cookie on the path.
func (k *Cookies) Tenant(c echo.Context) *tenants.Tenant {
	cl := k.Auth.CallerOf(c)
	if cl.Named == "" || cl.Tenant == nil || !cl.Tenant.CookieDelivery() {
		return nil
	}
	return cl.Tenant
}

// CheckCSRF demands the custom header and an Origin the tenant allows
// (OWASP CSRF cheat sheet: "custom request headers" and "verifying origin
// with standard headers"). Browsers send Origin on every POST, so its
// absence means the request is not from the app's page.
func CheckCSRF(c echo.Context, t *tenants.Tenant) error {
	r := c.Request()
	if r.Header.Get(csrfHeader) != "1" {
		return &httpx.ForgeryError{Reason: csrfHeader + ": 1 is required for this app"}
	}
	if origin := r.Header.Get("Origin"); origin == "" || !t.AllowsOrigin(origin) {
		return &httpx.ForgeryError{Reason: "the request's Origin is not one of this app's allowed_origins"}
	}
	return nil
}

// CheckClient guards /token for a cookie-mode client. The code grant must
// be guarded too: a forged cross-site redemption of the attacker's own
// code would plant the attacker's session cookie in the victim's browser
// (login CSRF), since a top-level cross-site POST may set even a
// SameSite=Strict cookie.
func CheckClient(c echo.Context, client *tenants.Tenant) error {
	if !client.CookieDelivery() {
		return nil
	}
	return CheckCSRF(c, client)
}

// RefreshToken returns the refresh token a cookie-mode request carries,
// after the CSRF checks; "" with no error when the request names no
// cookie-mode app (the token must then be in the body).
func (k *Cookies) RefreshToken(c echo.Context) (string, error) {
	t := k.Tenant(c)
	if t == nil {
		return "", nil
	}
	if err := CheckCSRF(c, t); err != nil {
		return "", err
	}
	rt := k.Value(c, t.ID)
	if rt == "" {
		return "", oautherr.New(oautherr.InvalidGrant, "no refresh cookie: sign in again")
	}
	return rt, nil
}

// Value is the tenant's refresh cookie as the request carries it, "" if
// none.
func (k *Cookies) Value(c echo.Context, tenantID string) string {
	ck, err := c.Cookie(k.name(tenantID))
	if err != nil {
		return ""
	}
	return ck.Value
}

// Send delivers g's refresh token as cookies when its tenant is in cookie
// mode, and reports whether it did: the caller must then leave the token
// out of the JSON body.
func (k *Cookies) Send(c echo.Context, g *tokens.Grant) bool {
	t, ok := k.Auth.Tenants.Tenant(g.Session.TenantID)
	if !ok || !t.CookieDelivery() {
		return false
	}
	// The cookie lives as long as the token can: the idle lifetime, capped
	// by the session's absolute end.
	ttl := k.IdleTTL
	if left := g.Session.ExpiresAt.Sub(k.Now()); left < ttl {
		ttl = left
	}
	k.set(c, t.ID, g.RefreshToken, max(int(ttl.Seconds()), 1))
	return true
}

// Refused is err as the app endpoints answer a refused refresh; a dead
// refresh token of a cookie-mode app also clears its cookies, so the
// browser stops sending them.
func (k *Cookies) Refused(c echo.Context, err error) error {
	if oe := (*oautherr.Error)(nil); errors.As(err, &oe) && oe.Code == oautherr.InvalidGrant {
		if t := k.Tenant(c); t != nil {
			k.Clear(c, t.ID)
		}
	}
	return httpx.Refused(err)
}

// Clear tells the browser to drop the tenant's cookies.
func (k *Cookies) Clear(c echo.Context, tenantID string) {
	k.set(c, tenantID, "", -1)
}

// set sets one cookie per path that needs the token, rather than one at a
// common parent: the browser then sends it to those two endpoints and
// nowhere else (not to /token, /auth/me or the app's API).
func (k *Cookies) set(c echo.Context, tenantID, value string, maxAge int) {
	secure := strings.HasPrefix(k.Issuer, "https://")
	base := ""
	if u, err := url.Parse(k.Issuer); err == nil {
		base = u.Path // the issuer's path prefix, if the broker is mounted under one
	}
	for _, p := range []string{"/auth/refresh", "/auth/logout"} {
		c.SetCookie(&http.Cookie{
			Name: k.name(tenantID), Value: value, Path: base + p, MaxAge: maxAge,
			HttpOnly: true, // never readable by page script: the point of cookie mode
			Secure:   secure,
			// Strict rather than Lax: only the app's script ever needs the
			// cookie, with fetch() from a page on the broker's own site
			// (app and broker on one registrable domain, such as
			// admin.acme.com and auth.acme.com, or 127.0.0.1 with two ports,
			// which is one site). No navigation ever needs it, so Strict
			// costs nothing and keeps it off every cross-site request,
			// top-level navigations included. An app on another site cannot
			// use cookie mode; config validation says so.
			SameSite: http.SameSiteStrictMode,
		})
	}
}

// name is per tenant: one browser may use several cookie-mode apps of one
// broker. Over https the __Secure- prefix makes browsers refuse the cookie
// unless it is Secure and set over https (RFC 6265bis §4.1.3.1); __Host-
// cannot be used, as it demands Path=/.
func (k *Cookies) name(tenantID string) string {
	if strings.HasPrefix(k.Issuer, "https://") {
		return "__Secure-broker_refresh_" + tenantID
	}
	return "broker_refresh_" + tenantID
}
