package appapi

import (
	"net/http"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"github.com/socialbroker/broker/internal/audit"
	"github.com/socialbroker/broker/internal/authn"
	"github.com/socialbroker/broker/internal/cookiemode"
	"github.com/socialbroker/broker/internal/httpx"
	"github.com/socialbroker/broker/internal/oautherr"
	"github.com/socialbroker/broker/internal/tenants"
	"github.com/socialbroker/broker/storage"
	"github.com/socialbroker/broker/tokens"
)

// Endpoints are the app-facing endpoints' handlers.
type Endpoints struct {
	Tokens  *tokens.Service
	Users   storage.Users
	Auth    *authn.Authn
	Cookies *cookiemode.Cookies
	Tenants *tenants.Registry
	Audit   *audit.Recorder
}

// Check is GET /auth/check.
func (e *Endpoints) Check(c echo.Context, claims *tokens.AccessClaims) error {
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

// Me is GET /auth/me.
func (e *Endpoints) Me(c echo.Context, claims *tokens.AccessClaims) error {
	ctx := c.Request().Context()
	u, err := e.Users.GetUser(ctx, claims.Subject)
	if err != nil {
		return err
	}
	ids, err := e.Users.ListIdentities(ctx, u.ID)
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

// Permissions is GET /auth/permissions: the token's roles and the
// permissions the tenant's configuration attaches to them.
func (e *Endpoints) Permissions(c echo.Context, claims *tokens.AccessClaims) error {
	t, ok := e.Tenants.Tenant(claims.TID)
	if !ok { // removed since the token was checked
		return tokens.Invalid("the app of this token is no longer configured")
	}
	perms := []string{}
	for _, r := range t.Roles {
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
func (e *Endpoints) browserClient(c echo.Context) func(string) error {
	return func(tenantID string) error {
		t, err := e.Auth.SameApp(c, tenantID)
		if err != nil {
			return oautherr.New(oautherr.InvalidGrant, "refresh token belongs to another app")
		}
		if t.Confidential() {
			return oautherr.New(oautherr.InvalidGrant, "this app must refresh at /token with its client credentials")
		}
		return nil
	}
}

// Refresh is POST /auth/refresh.
func (e *Endpoints) Refresh(c echo.Context) error {
	p, err := httpx.Params(c)
	if err != nil {
		return httpx.Refused(err)
	}
	rt := p.Get("refreshToken")
	if rt == "" {
		if rt, err = e.Cookies.RefreshToken(c); err != nil { // cookie mode
			return e.Cookies.Refused(c, err)
		}
	}
	if rt == "" {
		return httpx.Refused(oautherr.New(oautherr.InvalidRequest, "refreshToken is required"))
	}
	g, err := e.Tokens.Refresh(c.Request().Context(), rt, e.browserClient(c))
	if err != nil {
		return e.Cookies.Refused(c, err)
	}
	body := map[string]any{
		"accessToken": g.AccessToken, "expiresIn": int64(g.ExpiresIn.Seconds()), "tokenType": "Bearer",
	}
	if !e.Cookies.Send(c, g) {
		body["refreshToken"] = g.RefreshToken
	}
	return c.JSON(http.StatusOK, body)
}

// Logout is POST /auth/logout: revokes the session of the bearer token, or
// of the refresh token in the body (or cookie, for a cookie-mode app).
// Every token of that session then fails. Logging out is idempotent: an
// unknown or foreign refresh token revokes nothing, but the app's state
// is "signed out" either way. With "everywhere": true (JSON) or
// everywhere=true (form), the broker session the session came from ends
// too, with every app session it started.
func (e *Endpoints) Logout(c echo.Context) error {
	p, err := httpx.Params(c)
	if err != nil {
		return err
	}
	everywhere := p.Get("everywhere") == "true"
	if t := e.Cookies.Tenant(c); t != nil {
		return e.cookieLogout(c, t, everywhere)
	}
	ctx := c.Request().Context()
	if _, ok := authn.BearerToken(c.Request()); ok {
		claims, err := e.Auth.Authenticate(c)
		if err != nil {
			return err
		}
		return e.loggedOut(c, claims.TID, claims.Subject, e.Tokens.EndSession(ctx, claims.SID, everywhere))
	}
	rt := p.Get("refreshToken")
	if rt == "" {
		return httpx.ErrNoToken
	}
	return e.loggedOut(c, e.Auth.CallerOf(c).Named, "", e.endRefreshSession(c, rt, everywhere))
}

// endRefreshSession ends the session of refresh token rt (and, with
// everywhere, its broker session's), if the token is a link of its chain
// and the caller may end it.
func (e *Endpoints) endRefreshSession(c echo.Context, rt string, everywhere bool) error {
	ctx := c.Request().Context()
	done, err := e.Tokens.RevokeRefreshToken(ctx, rt, e.browserClient(c))
	if err != nil || !done || !everywhere {
		return err
	}
	return e.Tokens.EndSession(ctx, tokens.RefreshTokenSession(rt), true)
}

// cookieLogout is POST /auth/logout for a cookie-mode app: it revokes the
// session of the refresh cookie (and of the bearer token, if one is sent,
// ignoring a dead one) and clears the cookies.
func (e *Endpoints) cookieLogout(c echo.Context, t *tenants.Tenant, everywhere bool) error {
	if err := cookiemode.CheckCSRF(c, t); err != nil {
		return err
	}
	ctx := c.Request().Context()
	if rt := e.Cookies.Value(c, t.ID); rt != "" {
		if err := e.endRefreshSession(c, rt, everywhere); err != nil {
			return err
		}
	}
	if _, ok := authn.BearerToken(c.Request()); ok {
		claims, err := e.Auth.Authenticate(c)
		switch {
		case err == nil:
			if err := e.Tokens.EndSession(ctx, claims.SID, everywhere); err != nil {
				return err
			}
		case !httpx.IsTokenFault(err):
			return err
		}
	}
	e.Cookies.Clear(c, t.ID)
	return e.loggedOut(c, t.ID, "", nil)
}

// loggedOut answers a logout of tenant's user (when known) whose
// revocation ended with err, and records it.
func (e *Endpoints) loggedOut(c echo.Context, tenant, user string, err error) error {
	if err != nil {
		return err
	}
	e.Audit.Record(storage.AuditEvent{Type: audit.Logout, Tenant: tenant, User: user, IP: c.RealIP()})
	return c.JSON(http.StatusOK, map[string]any{"success": true})
}
