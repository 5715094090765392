package admin

import (
	"context"
	"errors"
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"
	"github.com/socialbroker/broker/internal/config"
	"github.com/socialbroker/broker/storage"
	"github.com/socialbroker/broker/tokens"
)

// TokenVerifier verifies the broker's own access tokens (tokens.Service).
type TokenVerifier interface {
	Verify(ctx context.Context, raw string) (*tokens.AccessClaims, error)
}

// Operators admits the admin console's operators: besides admin keys, the
// API accepts the broker's own access token of the built-in tenant
// broker-console (config.ConsoleTenantID) when it carries Role. Such a
// request has the rights of the admin scope and its actor, in the audit
// log, is the operator's email. The console's page thus never holds a
// long-lived credential: its access token lives access_ttl and dies with
// the operator's session, and a bearer token in a header is not something
// a browser attaches by itself, so a cross-site request carries none
// (no CSRF).
type Operators struct {
	Tokens TokenVerifier
	Role   string
}

// operatorCtx holds the operator's name (their email) on the request.
const operatorCtx = "admin.operator"

var (
	errBadToken    = apiError(http.StatusUnauthorized, "invalid_token", "the console's access token is invalid or its session ended: sign in again")
	errExpired     = apiError(http.StatusUnauthorized, "invalid_token", "the console's access token expired: sign in again")
	errNotOperator = apiError(http.StatusForbidden, "not_console_admin", "this account does not hold the console role: ask an operator to add it to [admin] console_admins")
)

// operator authenticates raw as an operator's access token; the caller
// has spent the failure budget and refunds it when this returns nil.
func (a *API) operator(c echo.Context, raw string) error {
	if a.Console == nil {
		return errBadKey
	}
	cl, err := a.Console.Tokens.Verify(c.Request().Context(), raw)
	switch {
	case errors.Is(err, tokens.ErrTokenExpired):
		return errExpired
	case errors.Is(err, tokens.ErrInvalidToken):
		return errBadToken
	case err != nil:
		return err
	case cl.TID != config.ConsoleTenantID:
		// Another app's token: not a credential of this API at all.
		return errBadToken
	case !slices.Contains(cl.Roles, a.Console.Role):
		return errNotOperator
	}
	name := cl.Email
	if name == "" {
		name = "user:" + cl.Subject
	}
	c.Set(keyCtx, &storage.AdminKey{Name: name, Scopes: []string{ScopeAdmin}})
	c.Set(operatorCtx, name)
	return nil
}

// actorOf names who made the request's change in the audit log: the
// operator's email, or key:<id>.
func actorOf(c echo.Context) string {
	if op, ok := c.Get(operatorCtx).(string); ok {
		return op
	}
	return "key:" + keyOf(c).ID
}
