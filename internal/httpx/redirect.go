package httpx

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// Redirect sends the browser to target: 302 Found in answer to a GET,
// 303 See Other in answer to anything else. A 307 or 308 would make the
// browser re-send a POST body, with whatever credentials it holds, to the
// target; 303 turns it into a plain GET (RFC 9700 §4.12). The answer is
// never cached: redirects carry codes and states.
func Redirect(c echo.Context, target string) error {
	status := http.StatusSeeOther
	if m := c.Request().Method; m == http.MethodGet || m == http.MethodHead {
		status = http.StatusFound
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.Redirect(status, target)
}
