// Package tokens owns the broker's own tokens: the signing keys and their
// JWKS (keys.go, rotation with pre-publication), access tokens (RFC 9068)
// and ID tokens, minted and verified (jwt.go), one-time authorization
// codes (codes.go), refresh tokens and their rotation with reuse
// detection (refresh.go, service.go), and the in-memory view of revoked
// sessions that lets an access token be checked without a database read
// (revocations.go).
//
// Service is the one entry point for grants: IssueCode at the end of a
// sign-in, ExchangeCode and Refresh at the token endpoint, Verify for
// every bearer request, RevokeSession and RevokeRefreshToken for logout.
// What a session's tenant allows is not decided here: Config.Policy asks
// the caller (internal/accounts) at every grant.
//
// Clocks: every time comes from Config.Now; replicas' clocks may differ by
// MaxClockSkew, and every comparison of a time one replica wrote with
// another's clock allows for it.
package tokens
