package oauth

import (
	"net/http"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/socialbroker/broker/callback"
	"github.com/socialbroker/broker/internal/httpx"
	"github.com/socialbroker/broker/internal/oautherr"
	"github.com/socialbroker/broker/tokens"
)

// Discovery is both /.well-known/openid-configuration (OIDC Discovery §3)
// and /.well-known/oauth-authorization-server (RFC 8414 §2).
func (e *Endpoints) Discovery(c echo.Context) error {
	iss := e.Issuer
	c.Response().Header().Set("Cache-Control", "public, max-age=300")
	return c.JSON(http.StatusOK, map[string]any{
		"issuer":                                         iss,
		"authorization_endpoint":                         iss + "/authorize",
		"token_endpoint":                                 iss + "/token",
		"jwks_uri":                                       iss + "/.well-known/jwks.json",
		"userinfo_endpoint":                              iss + "/userinfo",
		"revocation_endpoint":                            iss + "/revoke",
		"introspection_endpoint":                         iss + "/introspect",
		"end_session_endpoint":                           iss + "/logout",
		"response_types_supported":                       []string{"code"},
		"response_modes_supported":                       []string{"query"},
		"grant_types_supported":                          []string{"authorization_code", "refresh_token"},
		"subject_types_supported":                        []string{"public"},
		"id_token_signing_alg_values_supported":          []string{e.Keys.Alg()},
		"code_challenge_methods_supported":               []string{"S256"},
		"token_endpoint_auth_methods_supported":          []string{"client_secret_basic", "client_secret_post", "none"},
		"revocation_endpoint_auth_methods_supported":     []string{"client_secret_basic", "client_secret_post", "none"},
		"introspection_endpoint_auth_methods_supported":  []string{"client_secret_basic", "client_secret_post"},
		"scopes_supported":                               callback.SupportedScopes,
		"claims_supported":                               []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "sid", "email", "email_verified", "name", "picture", "preferred_username", "roles"},
		"authorization_response_iss_parameter_supported": true,
		// OIDC Back-Channel Logout 1.0 §2.1: logout tokens carry sid,
		// the sid of the session's ID tokens.
		"backchannel_logout_supported":         true,
		"backchannel_logout_session_supported": true,
	})
}

// JWKS is GET /.well-known/jwks.json. A new key is published for a while
// before it signs, so a cached copy stays good.
func (e *Endpoints) JWKS(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "public, max-age=300")
	return c.Blob(http.StatusOK, "application/jwk-set+json", e.Keys.JWKS())
}

// Userinfo is the OIDC UserInfo endpoint (OIDC Core §5.3).
func (e *Endpoints) Userinfo(c echo.Context, claims *tokens.AccessClaims) error {
	u, err := e.Users.GetUser(c.Request().Context(), claims.Subject)
	if err != nil {
		return err
	}
	scopes := strings.Fields(claims.Scope)
	out := map[string]any{"sub": u.ID}
	if slices.Contains(scopes, "email") {
		out["email"], out["email_verified"] = u.Email, u.EmailVerified
	}
	if slices.Contains(scopes, "profile") {
		out["name"], out["picture"], out["preferred_username"] = u.Name, u.Picture, u.Username
	}
	if slices.Contains(scopes, "roles") {
		out["roles"] = claims.Roles
	}
	custom, err := e.Tokens.UserinfoClaims(c.Request().Context(), claims)
	if err != nil {
		return err
	}
	for _, cl := range custom {
		out[cl.Name] = cl.Value
	}
	return c.JSON(http.StatusOK, out)
}

// Revoke is RFC 7009 token revocation. Revoking either kind of token ends
// its session. Unknown tokens get 200 too (§2.2).
func (e *Endpoints) Revoke(c echo.Context) error {
	p, client, err := e.Auth.ClientRequest(c)
	if err != nil {
		return err
	}
	tok := p.Get("token")
	if tok == "" {
		return oautherr.New(oautherr.InvalidRequest, "token is required")
	}
	ctx := c.Request().Context()
	if p.Get("token_type_hint") != "access_token" {
		done, err := e.Tokens.RevokeRefreshToken(ctx, tok, sameClient(client.ID))
		if err != nil || done {
			return errOr(err, c.NoContent(http.StatusOK))
		}
	}
	if claims, err := e.Tokens.Verify(ctx, tok); err == nil && claims.TID == client.ID {
		if err := e.Tokens.RevokeSession(ctx, claims.SID); err != nil {
			return err
		}
	} else if err != nil && !httpx.IsTokenFault(err) {
		return err
	}
	return c.NoContent(http.StatusOK)
}

func errOr(err, otherwise error) error {
	if err != nil {
		return err
	}
	return otherwise
}

// Introspect is RFC 7662 token introspection, for confidential tenants
// (resource servers with credentials). A tenant learns only about its own
// tokens; anything else is simply inactive (§2.2).
func (e *Endpoints) Introspect(c echo.Context) error {
	p, client, err := e.Auth.ClientRequest(c)
	if err != nil {
		return err
	}
	if !client.Confidential() {
		return oautherr.New(oautherr.UnauthorizedClient, "introspection requires a confidential client")
	}
	claims, err := e.Tokens.Verify(c.Request().Context(), p.Get("token"))
	if err != nil {
		if httpx.IsTokenFault(err) {
			return c.JSON(http.StatusOK, map[string]any{"active": false})
		}
		return err
	}
	if claims.TID != client.ID {
		return c.JSON(http.StatusOK, map[string]any{"active": false})
	}
	return c.JSON(http.StatusOK, map[string]any{
		"active": true, "scope": claims.Scope, "client_id": claims.ClientID, "sub": claims.Subject,
		"exp": claims.ExpiresAt.Unix(), "iat": claims.IssuedAt.Unix(), "iss": claims.Issuer,
		"aud": claims.Audience, "jti": claims.ID, "token_type": "Bearer", "sid": claims.SID,
		"roles": claims.Roles,
	})
}
