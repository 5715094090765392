// Package cookiemode is cookie mode (a tenant's refresh_token_delivery = "cookie") follows the
// "token-mediating backend" idea of the IETF OAuth 2.0 for Browser-Based
// Applications BCP: the single-page app holds only short-lived access
// tokens, and the refresh token lives where no page script can read it, an
// HttpOnly cookie that the broker sets on /token and /auth/refresh and
// that the browser sends back only to /auth/refresh and /auth/logout.
// An XSS in the app can then use the session while the page is open, but
// cannot carry a refresh token away.
//
// A cookie the browser attaches by itself invites cross-site request
// forgery, so every cookie-mode request must also carry csrfHeader and an
// Origin the tenant allows: a custom header cannot be sent cross-origin
// without a CORS preflight, which only allowed origins pass, and an HTML
// form cannot send one at all.
package cookiemode
