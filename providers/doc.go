// Package providers talks to the upstream identity services a user signs in
// with, behind one small contract, Provider (provider.go): build the URL that
// sends the browser upstream, and turn the code that comes back into a
// verified Identity.
//
// Implementations:
//   - OIDC (oidc.go): any OpenID Connect issuer. Discovery is lazy and cached;
//     the ID token is verified with go-oidc (signature, iss, aud, exp) and
//     here (nonce, azp, hd); missing claims are completed from userinfo.
//   - NewGoogle (google.go): OIDC with Google's issuer and defaults.
//   - GitHub (github.go): OAuth2 plus the REST API (/user, /user/emails,
//     /user/orgs), for github.com and GitHub Enterprise Server.
//   - NewMicrosoft (microsoft.go): OIDC whose issuer follows each token's
//     directory (tid), checked against allowed_tenants; subject tid:oid.
//   - NewApple (apple.go): OIDC with a client secret the broker signs,
//     form_post responses and the once-only user field.
//   - NewGitLab (gitlab.go): OIDC on a GitLab instance; groups from userinfo.
//   - OAuth2 (oauth2.go): any OAuth 2.0 service, the identity read from its
//     userinfo answer through configured field paths.
//
// New (spec.go) builds any of them from a Spec, the plain settings of a
// [providers.NAME] section or a connection record; presets (discord,
// facebook, linkedin, slack) are data on top of the oauth2 and oidc types.
// This package owns what a Spec may say: each type's defaults, as data
// (Spec.WithDefaults), and its rules (CheckSpec), for the config file and
// the admin API alike.
// How each departs from plain OIDC is a set of quirks (oidc.go), not a
// subtype.
//
// Every round trip uses PKCE S256 (RFC 7636). Callers branch on two
// sentinels: ErrUpstream (unreachable, slow, 5xx, malformed: worth a retry
// later) and ErrInvalidIdentity (the upstream answered but the answer does
// not verify, or it refused the code). Error messages never contain tokens
// or secrets, so they may be logged.
//
// Each provider takes its *http.Client, whose Timeout bounds every upstream
// call, and holds no global state; all are safe for concurrent use.
//
// Fake upstreams for tests and the demo are in package providertest.
package providers
