// Package console serves the admin console, a web page over the admin API
// (internal/admin) at {issuer}/admin/: plain ES modules, HTML and CSS
// embedded in the binary, with no build step.
//
// Operators sign in through the broker itself, as any app's users do:
// the page is a public client of the built-in tenant broker-console
// (authorization code with PKCE, RFC 7636), whose refresh token lives in
// an HttpOnly cookie (cookie mode). The page calls the admin API with its
// short-lived access token, which the API accepts when it carries
// admin.console_role. Its CSP allows no inline script or style.
package console
