package httpx

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// pageCSP allows the broker's own pages nothing but their own inline-free
// styles and scripts, fetches to their own origin (the demo app calls the
// broker's JSON endpoints), and no framing (clickjacking on a sign-in page).
const pageCSP = signInFormCSP + "; form-action 'self'"

// signInFormCSP is pageCSP without form-action, for a page whose form
// starts a sign-in: Chrome and Safari apply form-action to every redirect
// a submission leads to (w3c/webappsec-csp#8), and this one leads on to
// an upstream and back to an app, wherever they are.
const signInFormCSP = "default-src 'none'; style-src 'self'; img-src 'self' https: data:; script-src 'self'; connect-src 'self'; " +
	"base-uri 'none'; frame-ancestors 'none'"

// SetPageHeaders sets the headers every HTML page of the broker carries.
func SetPageHeaders(h http.Header) {
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
}

// SetSignInFormHeaders is SetPageHeaders for a page with a form that
// starts a sign-in (the hosted page's email box).
func SetSignInFormHeaders(h http.Header) {
	SetPageHeaders(h)
	h.Set("Content-Security-Policy", signInFormCSP)
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
