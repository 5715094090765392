package httpx

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/socialbroker/broker/internal/oautherr"
	"github.com/socialbroker/broker/internal/web"
	"github.com/socialbroker/broker/storage"
	"github.com/socialbroker/broker/tokens"
)

// PageError is an error a browser should see as an HTML page, never as a
// redirect: used when the request cannot be trusted to name where to go.
type PageError struct {
	Status  int
	Title   string
	Message string
	Err     error // the cause, logged only
	// AppName and AppHome, when set (ForApp), make the page link back to
	// the app.
	AppName, AppHome string
	// LogMsg and LogAttrs make the page's log line (Logged).
	LogMsg   string
	LogAttrs []any
}

func (e *PageError) Error() string {
	if e.Err != nil {
		return e.Title + ": " + e.Err.Error()
	}
	return e.Title
}

func (e *PageError) Unwrap() error { return e.Err }

// Page returns a *PageError.
func Page(status int, title, message string) *PageError {
	return &PageError{Status: status, Title: title, Message: message}
}

// ErrNoToken: a request that needs a bearer token carries none (RFC 6750
// §3.1: its challenge then has no error code).
var ErrNoToken = errors.New("no bearer token")

// ForgeryError is a request refused as a possible cross-site request
// forgery: 403.
type ForgeryError struct{ Reason string }

func (e *ForgeryError) Error() string { return "possible request forgery: " + e.Reason }

// AppRefusal is a protocol error on the app-facing endpoints (/auth/...),
// whose contract fixes another shape than RFC 6749's: 401 with
// {"error", "message"}.
type AppRefusal struct{ Err *oautherr.Error }

func (e *AppRefusal) Error() string { return e.Err.Error() }
func (e *AppRefusal) Unwrap() error { return e.Err }

// Refused returns err as an AppRefusal when it is a protocol error, and
// err unchanged otherwise (a server fault stays one).
func Refused(err error) error {
	var oe *oautherr.Error
	if errors.As(err, &oe) {
		return &AppRefusal{oe}
	}
	return err
}

// withMembers adds members to the JSON body of an error's response.
type withMembers struct {
	error
	members map[string]any
}

func (e *withMembers) Unwrap() error { return e.error }

// WithMembers makes err's JSON body carry members besides the usual ones
// (/auth/check's "authenticated": false).
func WithMembers(err error, members map[string]any) error {
	return &withMembers{err, members}
}

// ErrorHandler is the Echo HTTPErrorHandler, the one place where errors
// become responses, logged once. Handlers return typed errors: a
// *PageError is an HTML page; a bearer-token fault (ErrNoToken,
// tokens.ErrTokenExpired, tokens.ErrInvalidToken) is RFC 6750's 401; a
// *ForgeryError 403; an *AppRefusal the app endpoints' 401; an
// *oautherr.Error RFC 6749's JSON body; an *APIError (the admin API) its
// own status and body. Client faults never become 500s; server faults
// show a generic message, never the cause.
func ErrorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		req := c.Request()
		var (
			oe *oautherr.Error
			pe *PageError
			he *echo.HTTPError
			fe *ForgeryError
			ar *AppRefusal
			wm *withMembers
			ae *APIError
		)
		var members map[string]any
		if errors.As(err, &wm) {
			members = wm.members
		}
		switch {
		case errors.As(err, &pe):
			msg, attrs := pe.LogMsg, pe.LogAttrs
			if msg == "" {
				msg = "request refused: " + pe.Title
			}
			if pe.Status >= 500 {
				msg = "request failed"
			}
			if pe.Err != nil {
				attrs = append(attrs, "err", pe.Err)
			}
			renderPage(log, c, web.ErrorPage{Status: pe.Status, Title: pe.Title, Message: pe.Message,
				AppName: pe.AppName, AppHome: pe.AppHome}, msg, attrs...)
		case IsTokenFault(err):
			writeBearer(c, err, members)
		case errors.As(err, &fe):
			writeJSON(c, http.StatusForbidden, map[string]any{
				"error": oautherr.InvalidRequest, "error_description": fe.Reason, "message": fe.Reason,
			}, members)
		case errors.As(err, &ar):
			writeJSON(c, http.StatusUnauthorized, map[string]any{"error": ar.Err.Code, "message": ar.Err.Description}, members)
		case errors.As(err, &oe):
			writeOAuth(c, oe)
		case errors.As(err, &ae):
			writeAPIError(c, ae)
		case errors.As(err, &he):
			writeHTTPError(log, c, he)
		case errors.Is(err, storage.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
			log.Warn("dependency unavailable", "method", req.Method, "path", req.URL.Path, "err", err)
			writeOAuth(c, oautherr.New(oautherr.TemporarilyUnavailable, "the service is temporarily unavailable; try again shortly"))
		case errors.Is(err, context.Canceled):
			// The client went away; nobody is there to answer.
		default:
			log.Error("request failed", "method", req.Method, "path", req.URL.Path, "err", err)
			writeOAuth(c, oautherr.New(oautherr.ServerError, "internal error"))
		}
	}
}

// IsTokenFault tells a refused bearer token from a server fault.
func IsTokenFault(err error) bool {
	return errors.Is(err, ErrNoToken) || errors.Is(err, tokens.ErrTokenExpired) || errors.Is(err, tokens.ErrInvalidToken)
}

// writeBearer answers a failed bearer authentication: 401 with the RFC
// 6750 §3 challenge, and a body apps' interceptors can branch on
// ("token_expired" means refresh; anything else means sign in again).
func writeBearer(c echo.Context, err error, members map[string]any) {
	code, message, desc := "invalid_token", "JsonWebTokenError", describeTokenFault(err)
	if errors.Is(err, tokens.ErrTokenExpired) {
		code, message = "token_expired", "TokenExpiredError"
	}
	challenge := `Bearer realm="broker"`
	if !errors.Is(err, ErrNoToken) {
		// §3.1: no error code when the request had no credentials at all.
		challenge += `, error="invalid_token", error_description="` + desc + `"`
	}
	c.Response().Header().Set("WWW-Authenticate", challenge)
	writeJSON(c, http.StatusUnauthorized, map[string]any{"error": code, "error_description": desc, "message": message}, members)
}

func describeTokenFault(err error) string {
	switch {
	case errors.Is(err, ErrNoToken):
		return "an access token is required"
	case errors.Is(err, tokens.ErrTokenExpired):
		return "the access token expired"
	}
	if ie := (*tokens.InvalidTokenError)(nil); errors.As(err, &ie) {
		return ie.Reason
	}
	return "the access token is invalid"
}

// writeJSON writes an error body with members added.
func writeJSON(c echo.Context, status int, body, members map[string]any) {
	for k, v := range members {
		body[k] = v
	}
	_ = c.JSON(status, body)
}

// writeOAuth writes an RFC 6749 §5.2 JSON error body.
func writeOAuth(c echo.Context, e *oautherr.Error) {
	h := c.Response().Header()
	h.Set("Cache-Control", "no-store")
	switch e.Code {
	case oautherr.InvalidClient:
		// RFC 6749 §5.2: 401 with the scheme the client may authenticate with.
		h.Set("WWW-Authenticate", `Basic realm="broker"`)
	case oautherr.TemporarilyUnavailable:
		h.Set("Retry-After", "1")
	}
	_ = c.JSON(e.Status(), map[string]string{"error": e.Code, "error_description": e.Description})
}

func writeHTTPError(log *slog.Logger, c echo.Context, he *echo.HTTPError) {
	code := he.Code
	desc := http.StatusText(code)
	errCode := "invalid_request"
	switch {
	case code == http.StatusNotFound:
		errCode = "not_found"
	case code == http.StatusMethodNotAllowed:
		errCode = "method_not_allowed"
	case code == http.StatusRequestEntityTooLarge:
		desc = "request body too large"
	case code == http.StatusTooManyRequests:
		// Not an RFC 6749 code: an extension code (§8.5) saying what to do.
		errCode, desc = "rate_limited", "too many requests; retry after the delay in Retry-After"
	case code >= 500:
		errCode, desc = oautherr.ServerError, "internal error"
	}
	if acceptsHTML(c.Request()) {
		renderPage(log, c, web.ErrorPage{Status: code, Title: http.StatusText(code), Message: desc}, "request refused: "+errCode)
		return
	}
	_ = c.JSON(code, map[string]string{"error": errCode, "error_description": desc})
}

func acceptsHTML(r *http.Request) bool {
	return strings.Contains(strings.ToLower(r.Header.Get("Accept")), "text/html")
}
