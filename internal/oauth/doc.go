// Package oauth serves the standard endpoints any OAuth 2.0 or OpenID
// Connect client library speaks: discovery (OIDC Discovery, RFC 8414), the
// JWKS, /token (RFC 6749 §3.2), /revoke (RFC 7009), /introspect (RFC 7662)
// and /userinfo (OIDC Core §5.3). They answer in the RFC shapes; the
// browser flow (/authorize) is package callback's.
package oauth
