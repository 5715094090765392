package server

import (
	"errors"
	"net/http"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"github.com/socialbroker/broker/internal/oautherr"
)

// The app-facing endpoints: what a SPA's auth provider and its HTTP
// interceptor call. They answer in the camelCase shapes JavaScript apps
// expect; the standard endpoints keep the RFC shapes.

// check is GET /auth/check.
func (s *Server) check(c echo.Context) error {
	claims, err := s.authenticateApp(c)
	if err != nil {
		if isTokenFault(err) {
			return unauthorized(c, err, map[string]any{"authenticated": false})
		}
		return err
	}
	// The hottest endpoint (an app calls it on every navigation) answers
	// four fields of known types: written directly, not through
	// encoding/json's reflection and an Encoder per call.
	b := make([]byte, 0, 160)
	b = append(b, `{"authenticated":true,"sub":`...)
	b = appendJSONString(b, claims.Subject)
	b = append(b, `,"tenant":`...)
	b = appendJSONString(b, claims.TID)
	b = append(b, `,"expiresAt":"`...)
	b = claims.ExpiresAt.Time.UTC().AppendFormat(b, time.RFC3339)
	b = append(b, `"}`...)
	return c.JSONBlob(http.StatusOK, b)
}

// appendJSONString appends s as a JSON string, escaped exactly as
// encoding/json does (HTML-safe, invalid UTF-8 as U+FFFD).
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c == '\b':
				b = append(b, '\\', 'b')
			case c == '\f':
				b = append(b, '\\', 'f')
			case c < 0x20 || c == '<' || c == '>' || c == '&':
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

type identityJSON struct {
	Provider string `json:"provider"`
	Subject  string `json:"subject"`
	Username string `json:"username"`
	Email    string `json:"email"`
}

// me is GET /auth/me.
func (s *Server) me(c echo.Context) error {
	claims, err := s.authenticateApp(c)
	if err != nil {
		if isTokenFault(err) {
			return unauthorized(c, err, nil)
		}
		return err
	}
	ctx := c.Request().Context()
	u, err := s.store.GetUser(ctx, claims.Subject)
	if err != nil {
		return err
	}
	ids, err := s.store.ListIdentities(ctx, u.ID)
	if err != nil {
		return err
	}
	out := make([]identityJSON, 0, len(ids))
	for _, id := range ids {
		out = append(out, identityJSON{Provider: id.Provider, Subject: id.Subject, Username: id.Username, Email: id.Email})
	}
	return c.JSON(http.StatusOK, map[string]any{
		"id": u.ID, "tenant": claims.TID, "name": u.Name, "email": u.Email,
		"emailVerified": u.EmailVerified, "avatar": u.Picture, "roles": claims.Roles, "identities": out,
	})
}

// permissions is GET /auth/permissions: the token's roles and the
// permissions the tenant's configuration attaches to them.
func (s *Server) permissions(c echo.Context) error {
	claims, err := s.authenticateApp(c)
	if err != nil {
		if isTokenFault(err) {
			return unauthorized(c, err, nil)
		}
		return err
	}
	perms := []string{}
	for _, r := range s.tenants[claims.TID].Roles {
		if !slices.Contains(claims.Roles, r.Role) {
			continue
		}
		for _, p := range r.Permissions {
			if !slices.Contains(perms, p) {
				perms = append(perms, p)
			}
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"roles": claims.Roles, "permissions": perms})
}

// browserClient admits a refresh token presented without client
// authentication: only a public tenant's, and only from an origin it
// allows. A confidential tenant must authenticate at /token (RFC 6749 §6).
func (s *Server) browserClient(c echo.Context) func(string) error {
	return func(tenantID string) error {
		if err := s.sameApp(c, tenantID); err != nil {
			return oautherr.New(oautherr.InvalidGrant, "refresh token belongs to another app")
		}
		if s.tenants[tenantID].Confidential() {
			return oautherr.New(oautherr.InvalidGrant, "this app must refresh at /token with its client credentials")
		}
		return nil
	}
}

// refresh is POST /auth/refresh.
func (s *Server) refresh(c echo.Context) error {
	p, err := params(c)
	if err != nil {
		return grantFailure(c, err)
	}
	rt := p.Get("refreshToken")
	if rt == "" {
		if rt, err = s.refreshCookie(c); err != nil { // cookie mode
			return s.cookieFailure(c, err)
		}
	}
	if rt == "" {
		return grantFailure(c, oautherr.New(oautherr.InvalidRequest, "refreshToken is required"))
	}
	g, err := s.tokens.Refresh(c.Request().Context(), rt, s.browserClient(c))
	if err != nil {
		return s.cookieFailure(c, err)
	}
	body := map[string]any{
		"accessToken": g.AccessToken, "expiresIn": int64(g.ExpiresIn.Seconds()), "tokenType": "Bearer",
	}
	if !s.sendRefreshCookie(c, g) {
		body["refreshToken"] = g.RefreshToken
	}
	return c.JSON(http.StatusOK, body)
}

// grantFailure renders a refused refresh as the app endpoints' 401 shape;
// server faults go to the central handler.
func grantFailure(c echo.Context, err error) error {
	var oe *oautherr.Error
	if !errors.As(err, &oe) {
		return err
	}
	return c.JSON(http.StatusUnauthorized, map[string]any{"error": oe.Code, "message": oe.Description})
}

// logout is POST /auth/logout: revokes the session of the bearer token, or
// of the refresh token in the body. Every token of that session then fails.
func (s *Server) logout(c echo.Context) error {
	if t := s.cookieTenant(c); t != nil {
		return s.cookieLogout(c, t)
	}
	ctx := c.Request().Context()
	if _, ok := bearerToken(c.Request()); ok {
		claims, err := s.authenticate(c)
		if err != nil {
			if isTokenFault(err) {
				return unauthorized(c, err, nil)
			}
			return err
		}
		if err := s.tokens.RevokeSession(ctx, claims.SID); err != nil {
			return err
		}
		return c.JSON(http.StatusOK, map[string]any{"success": true})
	}
	p, err := params(c)
	if err != nil {
		return err
	}
	rt := p.Get("refreshToken")
	if rt == "" {
		return unauthorized(c, errNoToken, nil)
	}
	// An unknown or foreign refresh token revokes nothing, but logging out
	// is idempotent: the app's state is "signed out" either way.
	if _, err := s.tokens.RevokeRefreshToken(ctx, rt, s.browserClient(c)); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"success": true})
}
