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

// ErrorHandler is the Echo HTTPErrorHandler: it turns any error into a
// response and logs once. Client faults never become 500s; server faults
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
		)
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
		case errors.As(err, &oe):
			writeOAuth(c, oe)
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
