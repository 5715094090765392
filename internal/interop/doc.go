// Package interop runs the broker under real third-party software that
// users put in front of it, to prove that the broker speaks the protocols
// as those programs read them, not only as the broker's own tests do.
//
// It holds tests only. The oauth2-proxy tests run a real build of
// github.com/oauth2-proxy/oauth2-proxy/v7 (pinned at v7.15.6, built by
// .ci/run) with the broker, in process, as its OpenID Connect provider and
// the providertest fakes upstream, and prove:
//
//   - sign-in: a browser sent to the proxy goes through the broker's
//     /authorize, the fake upstream and the proxy's callback, and reaches the
//     app behind the proxy as the broker's user (X-Forwarded-User is the
//     broker's sub, X-Forwarded-Email the broker-verified email);
//   - roles: with --oidc-groups-claim=roles --allowed-group=admin the proxy
//     admits a holder of the tenant role admin and refuses (403) anyone else;
//   - refresh: with --cookie-refresh the proxy renews its session through
//     the broker's refresh_token grant, twice (so it keeps the rotated
//     refresh token), and the user stays signed in after the first access
//     token has expired;
//   - bearer: with --skip-jwt-bearer-tokens an API client's broker access
//     token passes the proxy without a cookie, roles as groups; a token with
//     a broken signature does not;
//   - roles after a refresh: when the operator takes a role away, the
//     refreshed access token the proxy holds no longer carries it; the
//     proxy's groups follow only once the refresh response carries an ID
//     token, which it does not yet (the test skips naming that gap);
//   - logout: /oauth2/sign_out with --backend-logout-url={issuer}/logout?id_token_hint={id_token}
//     ends the broker session: its access token is refused and the proxy's
//     old cookie can no longer be refreshed.
//
// The binary is found through OAUTH2_PROXY_BIN or at
// ${XDG_CACHE_HOME:-$HOME/.cache}/broker-ci/oauth2-proxy-v7.15.6/oauth2-proxy.
// Without it the tests skip, saying how to build it, except with CI=true,
// where they fail.
package interop
