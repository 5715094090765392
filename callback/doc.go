// Package callback holds the browser side of sign-in: the OAuth 2.0
// authorization endpoint (/authorize), the "Sign in with X" entry
// (/auth/{provider}/login) and the upstream's return (/auth/{provider}/callback),
// with the login state that ties the round trip to one browser: sealed into
// the state parameter (see flow), spent at the callback.
//
// The app's request is validated before anything else; until client_id and
// redirect_uri are known good, errors are pages, never redirects (RFC 6749
// §4.1.2.1), so the broker cannot be turned into an open redirector.
package callback
