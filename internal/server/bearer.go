package server

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/socialbroker/broker/internal/oautherr"
	"github.com/socialbroker/broker/tokens"
)

// errNoToken: the request carries no bearer token at all.
var errNoToken = errors.New("no bearer token")

// errNoApp: an app endpoint's request names no app (contract: 400).
var errNoApp = oautherr.New(oautherr.InvalidRequest,
	"name the calling app: send X-Tenant-ID, or call from an origin that belongs to exactly one app")

// bearerToken extracts an RFC 6750 §2.1 bearer token. The scheme is
// case-insensitive; tokens in query strings (§2.3) are never accepted:
// they end up in logs and Referer headers.
func bearerToken(r *http.Request) (string, bool) {
	scheme, tok, ok := strings.Cut(r.Header.Get(echo.HeaderAuthorization), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// authenticate verifies the request's access token, its session, and that
// it belongs to the app asking: the tenant named by X-Tenant-ID, and the
// calling page's Origin when there is one. Token faults wrap
// tokens.ErrInvalidToken or are tokens.ErrTokenExpired; anything else is a
// server fault.
func (s *Server) authenticate(c echo.Context) (*tokens.AccessClaims, error) {
	raw, ok := bearerToken(c.Request())
	if !ok {
		return nil, errNoToken
	}
	claims, err := s.tokens.Verify(c.Request().Context(), raw)
	if err != nil {
		return nil, err
	}
	if err := s.sameApp(c, claims.TID); err != nil {
		return nil, err
	}
	return claims, nil
}

// authenticateApp is authenticate for the endpoints that answer about one
// app's user (/auth/check, /auth/me, /auth/permissions): the calling app
// must be named, by X-Tenant-ID or by an Origin that belongs to exactly
// one tenant. A backend that forgot to say which app it is would
// otherwise admit any app's token, including users its own rules refuse.
// The token is judged first: a missing or bad one is a 401 whoever asks.
func (s *Server) authenticateApp(c echo.Context) (*tokens.AccessClaims, error) {
	claims, err := s.authenticate(c)
	if err != nil {
		return nil, err
	}
	r := c.Request()
	if r.Header.Get("X-Tenant-ID") == "" && len(s.originTenants[r.Header.Get("Origin")]) != 1 {
		return nil, errNoApp
	}
	return claims, nil
}

// sameApp refuses a token or refresh token of tenant tid presented by
// another app: a different X-Tenant-ID, or a browser Origin that tenant
// does not allow.
func (s *Server) sameApp(c echo.Context, tid string) error {
	t, ok := s.tenants[tid]
	if !ok {
		return tokens.Invalid("the app of this token is no longer configured")
	}
	if want := c.Request().Header.Get("X-Tenant-ID"); want != "" && want != tid {
		return tokens.Invalid("token belongs to another app")
	}
	if origin := c.Request().Header.Get("Origin"); origin != "" && !slices.Contains(t.AllowedOrigins, origin) {
		return tokens.Invalid("token belongs to another app")
	}
	return nil
}

// unauthorized answers a failed bearer authentication: 401 with the
// RFC 6750 §3 challenge, and a body apps' interceptors can branch on
// ("token_expired" means refresh; anything else means sign in again).
// extra adds endpoint-specific members.
func unauthorized(c echo.Context, err error, extra map[string]any) error {
	code, message, desc := "invalid_token", "JsonWebTokenError", describeTokenError(err)
	if errors.Is(err, tokens.ErrTokenExpired) {
		code, message = "token_expired", "TokenExpiredError"
	}
	challenge := `Bearer realm="broker"`
	if !errors.Is(err, errNoToken) {
		// §3.1: no error code when the request had no credentials at all.
		challenge += `, error="invalid_token", error_description="` + desc + `"`
	}
	c.Response().Header().Set("WWW-Authenticate", challenge)
	body := map[string]any{"error": code, "error_description": desc, "message": message}
	for k, v := range extra {
		body[k] = v
	}
	return c.JSON(http.StatusUnauthorized, body)
}

func describeTokenError(err error) string {
	switch {
	case errors.Is(err, errNoToken):
		return "an access token is required"
	case errors.Is(err, tokens.ErrTokenExpired):
		return "the access token expired"
	}
	if ie := (*tokens.InvalidTokenError)(nil); errors.As(err, &ie) {
		return ie.Reason
	}
	return "the access token is invalid"
}

// isTokenFault tells token faults (401) from server faults.
func isTokenFault(err error) bool {
	return errors.Is(err, errNoToken) || errors.Is(err, tokens.ErrTokenExpired) || errors.Is(err, tokens.ErrInvalidToken)
}
