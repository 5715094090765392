package authn

import (
	"context"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/socialbroker/broker/internal/httpx"
	"github.com/socialbroker/broker/internal/oautherr"
	"github.com/socialbroker/broker/internal/tenants"
	"github.com/socialbroker/broker/tokens"
)

// Verifier verifies the broker's access tokens (tokens.Service).
type Verifier interface {
	Verify(ctx context.Context, raw string) (*tokens.AccessClaims, error)
}

// Authn authenticates requests.
type Authn struct {
	Tokens  Verifier
	Tenants *tenants.Registry
	// ClientFailures is each confidential client's budget of failed
	// authentications (client.go).
	ClientFailures *httpx.Limiter
	Log            *slog.Logger
}

var invalid = tokens.Invalid

// errNoApp: an app endpoint's request names no app (contract: 400).
var errNoApp = oautherr.New(oautherr.InvalidRequest,
	"name the calling app: send X-Tenant-ID, or call from an origin that belongs to exactly one app")

// BearerToken extracts an RFC 6750 §2.1 bearer token. The scheme is
// case-insensitive; tokens in query strings (§2.3) are never accepted:
// they end up in logs and Referer headers.
func BearerToken(r *http.Request) (string, bool) {
	scheme, tok, ok := strings.Cut(r.Header.Get(echo.HeaderAuthorization), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// Authenticate verifies the request's access token, its session, and that
// it belongs to the app asking (SameApp). Token faults are
// httpx.ErrNoToken, tokens.ErrTokenExpired or wrap tokens.ErrInvalidToken
// (the error handler answers them 401); anything else is a server fault.
func (a *Authn) Authenticate(c echo.Context) (*tokens.AccessClaims, error) {
	claims, _, err := a.authenticate(c)
	return claims, err
}

// authenticate is Authenticate, also returning the caller it worked out.
func (a *Authn) authenticate(c echo.Context) (*tokens.AccessClaims, Caller, error) {
	raw, ok := BearerToken(c.Request())
	if !ok {
		return nil, Caller{}, httpx.ErrNoToken
	}
	claims, err := a.Tokens.Verify(c.Request().Context(), raw)
	if err != nil {
		return nil, Caller{}, err
	}
	cl := a.CallerOf(c)
	if _, err := a.sameApp(cl, claims.TID); err != nil {
		return nil, Caller{}, err
	}
	return claims, cl, nil
}

// Handler is an endpoint behind a bearer access token: it is given the
// token's verified claims (as an argument, not through the request's
// key-value store, which would cost every such request a map).
type Handler func(c echo.Context, claims *tokens.AccessClaims) error

// Bearer admits to h only requests with a valid access token of the
// calling app. members are added to the body of a 401 (/auth/check's
// "authenticated": false).
func (a *Authn) Bearer(h Handler, members map[string]any) echo.HandlerFunc {
	return a.bearer(h, members, false)
}

// AppBearer is Bearer for the endpoints that answer about one app's user
// (/auth/check, /auth/me, /auth/permissions): the calling app must also be
// named, by X-Tenant-ID or by an Origin that belongs to exactly one
// tenant. A backend that forgot to say which app it is would otherwise
// admit any app's token, including users its own rules refuse. The token
// is judged first: a missing or bad one is a 401 whoever asks.
func (a *Authn) AppBearer(h Handler, members map[string]any) echo.HandlerFunc {
	return a.bearer(h, members, true)
}

func (a *Authn) bearer(h Handler, members map[string]any, requireApp bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		claims, cl, err := a.authenticate(c)
		if err != nil {
			if members != nil {
				err = httpx.WithMembers(err, members)
			}
			return err
		}
		if requireApp && cl.Named == "" && cl.Tenant == nil {
			return errNoApp
		}
		return h(c, claims)
	}
}
