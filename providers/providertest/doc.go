// Package providertest runs FAKE upstream identity providers (an OpenID
// Connect issuer such as Google, GitHub, Microsoft, Apple, GitLab,
// LinkedIn, Slack, Discord, Facebook) as real HTTP servers on
// 127.0.0.1, for tests and for the broker's self-contained demo. They are
// not identity providers: anyone can sign in as any configured User.
//
// The fakes keep the parts of the real protocols that a broker can get
// wrong: client authentication, exact redirect_uri matching, single-use
// codes that expire, PKCE S256 (required here, even where the real service
// makes it optional; refused by LinkedIn's, as by the real one), the OIDC
// nonce, RS256 ID tokens verifiable with the
// JWKS named by a real discovery document, bearer-protected userinfo and
// REST endpoints, GitHub's HTTP 200 token errors and its OAuth scopes.
//
// Signing in: the authorization endpoint approves at once, redirecting back
// with a code, as the user set by SetNextUser (one login each); otherwise it
// shows an HTML page, marked "FAKE ... demo only", to choose among
// the configured users or to refuse.
//
// Fault knobs (SetDelay, SetDown, SetTokenError and, for OIDC, the ID token
// knobs) may be turned at any time from any goroutine; Reset turns them off.
//
// The constructors start the server and take no *testing.T; call Close when
// done (tests: t.Cleanup(fake.Close)).
package providertest
