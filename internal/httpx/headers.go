package httpx

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// pageCSP allows the broker's own pages nothing but their own inline-free
// styles and scripts, fetches to their own origin (the demo app calls the
// broker's JSON endpoints), and no framing (clickjacking on a sign-in page).
const pageCSP = "default-src 'none'; style-src 'self'; img-src 'self' https: data:; script-src 'self'; connect-src 'self'; " +
	"form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// SetPageHeaders sets the headers every HTML page of the broker carries.
func SetPageHeaders(h http.Header) {
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
}

// SecureHeaders sets headers every response carries.
func SecureHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("X-Content-Type-Options", "nosniff")
		// Codes and states travel in URLs; never leak them to another site.
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		return next(c)
	}
}

// NoStore marks a response as carrying tokens or codes (RFC 6749 §5.1).
func NoStore(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		c.Response().Header().Set("Cache-Control", "no-store")
		c.Response().Header().Set("Pragma", "no-cache")
		return next(c)
	}
}
