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
		h["X-Content-Type-Options"] = nosniff
		// Codes and states travel in URLs; never leak them to another site.
		h["Referrer-Policy"] = noReferrer
		h["X-Frame-Options"] = deny
		return next(c)
	}
}

// Header values set on every response, shared rather than allocated per
// request (the keys are in canonical form, as Header.Set would make
// them). A shared slice is safe: Header.Set replaces it, and Header.Add
// appends to a full slice, which copies it.
var (
	nosniff    = []string{"nosniff"}
	noReferrer = []string{"no-referrer"}
	deny       = []string{"DENY"}
	noStore    = []string{"no-store"}
	noCache    = []string{"no-cache"}
)

// NoStore marks a response as carrying tokens or codes (RFC 6749 §5.1).
func NoStore(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h["Cache-Control"] = noStore
		h["Pragma"] = noCache
		return next(c)
	}
}
