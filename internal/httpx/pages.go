package httpx

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/socialbroker/broker/internal/web"
)

// ForApp makes the page link back to the app it is about: name is shown,
// home is where the link goes. home must be a value the app registered
// (config.Tenant.Home), never one read from the request: a link built
// from request input would be an open redirect with the broker's name on
// it.
func (e *PageError) ForApp(name, home string) *PageError {
	e.AppName, e.AppHome = name, home
	return e
}

// Logged sets the message and attributes of the log line the page gets
// (the error handler adds the reference id, status and path).
func (e *PageError) Logged(msg string, attrs ...any) *PageError {
	e.LogMsg, e.LogAttrs = msg, attrs
	return e
}

// newRef is the short reference id shown on an error page and written in
// its log line, so that an operator can find what a user reports: 8
// characters of base32 (40 bits), unique enough among a day's errors.
func newRef() string { return rand.Text()[:8] }

// pageLevel is the level of an error page's log line: info for a client
// fault (an operator chasing a user's report needs it at the default
// level), error for a server fault, debug for a rate-limited request (a
// flood must not flood the log too).
func pageLevel(status int) slog.Level {
	switch {
	case status >= 500:
		return slog.LevelError
	case status == http.StatusTooManyRequests:
		return slog.LevelDebug
	}
	return slog.LevelInfo
}

// renderPage logs an error page once, with a fresh reference id, and
// writes it showing that id.
func renderPage(log *slog.Logger, c echo.Context, page web.ErrorPage, msg string, attrs ...any) {
	page.Ref = newRef()
	req := c.Request()
	head := []any{"ref", page.Ref, "status", page.Status, "method", req.Method, "path", req.URL.Path}
	log.Log(context.WithoutCancel(req.Context()), pageLevel(page.Status), msg, append(head, attrs...)...)
	SetPageHeaders(c.Response().Header())
	_ = WritePage(c, page.Status, "error", page)
}

// WritePage answers status with the broker's page name (internal/web)
// rendered from data. The caller has set the page's security headers
// (SetPageHeaders, or SetSignInFormHeaders for a page with a form).
func WritePage(c echo.Context, status int, name string, data any) error {
	c.Response().Header().Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
	c.Response().WriteHeader(status)
	return web.Render(c.Response(), name, data)
}
