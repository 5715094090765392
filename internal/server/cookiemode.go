package server

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/socialbroker/broker/internal/config"
	"github.com/socialbroker/broker/internal/oautherr"
	"github.com/socialbroker/broker/tokens"
)

// Cookie mode (a tenant's refresh_token_delivery = "cookie") follows the
// "token-mediating backend" idea of the IETF OAuth 2.0 for Browser-Based
// Applications BCP: the single-page app holds only short-lived access
// tokens, and the refresh token lives where no page script can read it, an
// HttpOnly cookie that the broker sets on /token and /auth/refresh and
// that the browser sends back only to /auth/refresh and /auth/logout.
// An XSS in the app can then use the session while the page is open, but
// cannot carry a refresh token away.
//
// A cookie the browser attaches by itself invites cross-site request
// forgery, so every cookie-mode request must also carry csrfHeader and an
// Origin the tenant allows: a custom header cannot be sent cross-origin
// without a CORS preflight, which only allowed origins pass, and an HTML
// form cannot send one at all.

// csrfHeader must be "1" on /token, /auth/refresh and /auth/logout for a
// cookie-mode tenant.
const csrfHeader = "X-Broker-CSRF"

// csrfError is a cookie-mode request refused as a possible forgery.
type csrfError struct{ reason string }

func (e *csrfError) Error() string { return "cookie mode: " + e.reason }

// cookieTenant returns the cookie-mode tenant a request names in
// X-Tenant-ID, or nil. The header is how a cookie-mode request says which
// app's cookie to use: a browser sends every app's cookie on the path.
func (s *Server) cookieTenant(c echo.Context) *config.Tenant {
	t, ok := s.tenants[c.Request().Header.Get("X-Tenant-ID")]
	if !ok || !t.CookieDelivery() {
		return nil
	}
	return t
}

// checkCSRF demands the custom header and an Origin the tenant allows
// (OWASP CSRF cheat sheet: "custom request headers" and "verifying origin
// with standard headers"). Browsers send Origin on every POST, so its
// absence means the request is not from the app's page.
func checkCSRF(c echo.Context, t *config.Tenant) error {
	r := c.Request()
	if r.Header.Get(csrfHeader) != "1" {
		return &csrfError{csrfHeader + ": 1 is required for this app"}
	}
	origin := r.Header.Get("Origin")
	if origin == "" || !slices.Contains(t.AllowedOrigins, origin) {
		return &csrfError{"the request's Origin is not one of this app's allowed_origins"}
	}
	return nil
}

// checkCookieClient guards /token for a cookie-mode client. The code grant
// must be guarded too: a forged cross-site redemption of the attacker's own
// code would plant the attacker's session cookie in the victim's browser
// (login CSRF), since a top-level cross-site POST may set even a
// SameSite=Strict cookie.
func checkCookieClient(c echo.Context, client *config.Tenant) error {
	if !client.CookieDelivery() {
		return nil
	}
	return checkCSRF(c, client)
}

// refreshCookie returns the refresh token a cookie-mode request carries,
// after the CSRF checks; "" with no error when the request names no
// cookie-mode app (the token must then be in the body).
func (s *Server) refreshCookie(c echo.Context) (string, error) {
	t := s.cookieTenant(c)
	if t == nil {
		return "", nil
	}
	if err := checkCSRF(c, t); err != nil {
		return "", err
	}
	ck, err := c.Cookie(s.refreshCookieName(t.ID))
	if err != nil || ck.Value == "" {
		return "", oautherr.New(oautherr.InvalidGrant, "no refresh cookie: sign in again")
	}
	return ck.Value, nil
}

// sendRefreshCookie delivers g's refresh token as cookies when its tenant
// is in cookie mode, and reports whether it did: the caller must then
// leave the token out of the JSON body.
func (s *Server) sendRefreshCookie(c echo.Context, g *tokens.Grant) bool {
	t, ok := s.tenants[g.Session.TenantID]
	if !ok || !t.CookieDelivery() {
		return false
	}
	// The cookie lives as long as the token can: the idle lifetime, capped
	// by the session's absolute end.
	ttl := s.cfg.Tokens.RefreshIdleTTL.Duration
	if left := g.Session.ExpiresAt.Sub(s.now()); left < ttl {
		ttl = left
	}
	s.setRefreshCookies(c, t.ID, g.RefreshToken, max(int(ttl.Seconds()), 1))
	return true
}

// clearRefreshCookies tells the browser to drop the tenant's cookies.
func (s *Server) clearRefreshCookies(c echo.Context, tenantID string) {
	s.setRefreshCookies(c, tenantID, "", -1)
}

// setRefreshCookies sets one cookie per path that needs the token, rather
// than one at a common parent: the browser then sends it to those two
// endpoints and nowhere else (not to /token, /auth/me or the app's API).
func (s *Server) setRefreshCookies(c echo.Context, tenantID, value string, maxAge int) {
	secure := strings.HasPrefix(s.cfg.Issuer, "https://")
	base := ""
	if u, err := url.Parse(s.cfg.Issuer); err == nil {
		base = u.Path // the issuer's path prefix, if the broker is mounted under one
	}
	for _, p := range []string{"/auth/refresh", "/auth/logout"} {
		c.SetCookie(&http.Cookie{
			Name: s.refreshCookieName(tenantID), Value: value, Path: base + p, MaxAge: maxAge,
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

// refreshCookieName is per tenant: one browser may use several cookie-mode
// apps of one broker. Over https the __Secure- prefix makes browsers
// refuse the cookie unless it is Secure and set over https (RFC 6265bis
// §4.1.3.1); __Host- cannot be used, as it demands Path=/.
func (s *Server) refreshCookieName(tenantID string) string {
	if strings.HasPrefix(s.cfg.Issuer, "https://") {
		return "__Secure-broker_refresh_" + tenantID
	}
	return "broker_refresh_" + tenantID
}

// cookieFailure answers a refused refresh: a CSRF refusal is 403; a dead
// refresh token of a cookie-mode app also clears its cookies, so the
// browser stops sending them. Everything else is grantFailure's.
func (s *Server) cookieFailure(c echo.Context, err error) error {
	var ce *csrfError
	if errors.As(err, &ce) {
		return csrfRefused(c, ce)
	}
	var oe *oautherr.Error
	if t := s.cookieTenant(c); t != nil && errors.As(err, &oe) && oe.Code == oautherr.InvalidGrant {
		s.clearRefreshCookies(c, t.ID)
	}
	return grantFailure(c, err)
}

// csrfRefused answers 403 in both shapes the endpoints use (RFC 6749's
// error_description, the app endpoints' message).
func csrfRefused(c echo.Context, err error) error {
	var ce *csrfError
	if !errors.As(err, &ce) {
		return err
	}
	return c.JSON(http.StatusForbidden, map[string]any{
		"error": oautherr.InvalidRequest, "error_description": ce.reason, "message": ce.reason,
	})
}

// cookieLogout is POST /auth/logout for a cookie-mode app: it revokes the
// session of the refresh cookie (and of the bearer token, if one is sent)
// and clears the cookies. Logging out is idempotent: with no live token
// left the answer is still success, the browser being signed out either way.
func (s *Server) cookieLogout(c echo.Context, t *config.Tenant) error {
	if err := checkCSRF(c, t); err != nil {
		return csrfRefused(c, err)
	}
	ctx := c.Request().Context()
	if ck, err := c.Cookie(s.refreshCookieName(t.ID)); err == nil && ck.Value != "" {
		if _, err := s.tokens.RevokeRefreshToken(ctx, ck.Value, s.browserClient(c)); err != nil {
			return err
		}
	}
	if _, ok := bearerToken(c.Request()); ok {
		claims, err := s.authenticate(c)
		switch {
		case err == nil:
			if err := s.tokens.RevokeSession(ctx, claims.SID); err != nil {
				return err
			}
		case !isTokenFault(err):
			return err
		}
	}
	s.clearRefreshCookies(c, t.ID)
	return c.JSON(http.StatusOK, map[string]any{"success": true})
}
