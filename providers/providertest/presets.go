package providertest

import (
	"net/http"
)

// NewGitLab starts a fake GitLab (GitLab.com or a self-managed instance,
// whose URL() is both base URL and issuer), on GitLab's paths. As GitLab
// does, it lists the user's groups (User.Groups) in the userinfo answer
// only; the ID token has groups_direct at most.
func NewGitLab(opts OIDCOptions) *OIDC {
	if opts.Title == "" {
		opts.Title = "GitLab"
	}
	var f *OIDC
	return newOIDC(opts, oidcQuirks{
		bind: func(x *OIDC) { f = x },
		routes: map[string]string{
			"authorize": "GET /oauth/authorize", "token": "POST /oauth/token",
			"userinfo": "/oauth/userinfo", "jwks": "GET /oauth/discovery/keys",
		},
		doc: func(_ *http.Request, doc map[string]any) {
			iss := f.URL()
			doc["authorization_endpoint"] = iss + "/oauth/authorize"
			doc["token_endpoint"] = iss + "/oauth/token"
			doc["userinfo_endpoint"] = iss + "/oauth/userinfo"
			doc["jwks_uri"] = iss + "/oauth/discovery/keys"
		},
		userinfoClaims: func(u User, c map[string]any) {
			if u.Groups != nil {
				c["groups"] = u.Groups
			}
			c["nickname"] = u.Login
		},
	})
}

// NewLinkedIn starts a fake "Sign In with LinkedIn using OpenID Connect":
// its issuer has a path (URL() ends in /oauth), its token endpoint takes
// client_secret_post only (and its discovery says so) and fails client
// authentication when a code_verifier is sent, its ID tokens never carry
// the nonce, and email_verified is the string "true" or "false".
func NewLinkedIn(opts OIDCOptions) *OIDC {
	if opts.Title == "" {
		opts.Title = "LinkedIn"
	}
	var f *OIDC
	return newOIDC(opts, oidcQuirks{
		bind:   func(x *OIDC) { f = x },
		prefix: "/oauth",
		routes: map[string]string{
			"authorize": "GET /oauth/v2/authorization", "token": "POST /oauth/v2/accessToken",
			"userinfo": "/v2/userinfo", "jwks": "GET /oauth/openid/jwks",
		},
		doc: func(_ *http.Request, doc map[string]any) {
			doc["authorization_endpoint"] = f.URL() + "/v2/authorization"
			doc["token_endpoint"] = f.URL() + "/v2/accessToken"
			doc["userinfo_endpoint"] = f.BaseURL() + "/v2/userinfo"
			doc["jwks_uri"] = f.URL() + "/openid/jwks"
			doc["token_endpoint_auth_methods_supported"] = []string{"client_secret_post"}
		},
		idClaims: func(u User, c map[string]any) {
			delete(c, "nonce")
			stringEmailVerified(u, c)
		},
		userinfoClaims: func(u User, c map[string]any) {
			stringEmailVerified(u, c)
		},
		setup: func(c *core) { c.postOnly, c.refusesPKCE = true, true },
	})
}

// NewSlack starts a fake "Sign in with Slack" (OpenID Connect) on Slack's
// paths.
func NewSlack(opts OIDCOptions) *OIDC {
	if opts.Title == "" {
		opts.Title = "Slack"
	}
	var f *OIDC
	return newOIDC(opts, oidcQuirks{
		bind: func(x *OIDC) { f = x },
		routes: map[string]string{
			"authorize": "GET /openid/connect/authorize", "token": "POST /api/openid.connect.token",
			"userinfo": "/api/openid.connect.userInfo", "jwks": "GET /openid/connect/keys",
		},
		doc: func(_ *http.Request, doc map[string]any) {
			doc["authorization_endpoint"] = f.URL() + "/openid/connect/authorize"
			doc["token_endpoint"] = f.URL() + "/api/openid.connect.token"
			doc["userinfo_endpoint"] = f.URL() + "/api/openid.connect.userInfo"
			doc["jwks_uri"] = f.URL() + "/openid/connect/keys"
			doc["response_modes_supported"] = []string{"query"}
		},
	})
}

func stringEmailVerified(u User, c map[string]any) {
	if _, ok := c["email_verified"]; ok {
		c["email_verified"] = map[bool]string{true: "true", false: "false"}[u.EmailVerified]
	}
}
