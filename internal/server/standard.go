package server

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/socialbroker/broker/callback"
	"github.com/socialbroker/broker/internal/httpx"
	"github.com/socialbroker/broker/internal/oautherr"
	"github.com/socialbroker/broker/internal/web"
)

// discovery is both /.well-known/openid-configuration (OIDC Discovery §3)
// and /.well-known/oauth-authorization-server (RFC 8414 §2).
func (s *Server) discovery(c echo.Context) error {
	iss := s.cfg.Issuer
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
		"id_token_signing_alg_values_supported":          []string{s.keys.Alg()},
		"code_challenge_methods_supported":               []string{"S256"},
		"token_endpoint_auth_methods_supported":          []string{"client_secret_basic", "client_secret_post", "none"},
		"revocation_endpoint_auth_methods_supported":     []string{"client_secret_basic", "client_secret_post", "none"},
		"introspection_endpoint_auth_methods_supported":  []string{"client_secret_basic", "client_secret_post"},
		"scopes_supported":                               callback.SupportedScopes,
		"claims_supported":                               []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "sid", "email", "email_verified", "name", "picture", "preferred_username", "roles"},
		"authorization_response_iss_parameter_supported": true,
	})
}

// jwks is GET /.well-known/jwks.json. A new key is published for a while
// before it signs, so a cached copy stays good.
func (s *Server) jwks(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "public, max-age=300")
	return c.Blob(http.StatusOK, "application/jwk-set+json", s.keys.JWKS())
}

// userinfo is the OIDC UserInfo endpoint (OIDC Core §5.3).
func (s *Server) userinfo(c echo.Context) error {
	claims, err := s.authenticate(c)
	if err != nil {
		if isTokenFault(err) {
			return unauthorized(c, err, nil)
		}
		return err
	}
	u, err := s.store.GetUser(c.Request().Context(), claims.Subject)
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
	return c.JSON(http.StatusOK, out)
}

// revoke is RFC 7009 token revocation. Revoking either kind of token ends
// its session. Unknown tokens get 200 too (§2.2).
func (s *Server) revoke(c echo.Context) error {
	p, client, err := s.clientRequest(c)
	if err != nil {
		return err
	}
	tok := p.Get("token")
	if tok == "" {
		return oautherr.New(oautherr.InvalidRequest, "token is required")
	}
	ctx := c.Request().Context()
	if p.Get("token_type_hint") != "access_token" {
		done, err := s.tokens.RevokeRefreshToken(ctx, tok, sameClient(client.ID))
		if err != nil || done {
			return errOr(err, c.NoContent(http.StatusOK))
		}
	}
	if claims, err := s.tokens.Verify(ctx, tok); err == nil && claims.TID == client.ID {
		if err := s.tokens.RevokeSession(ctx, claims.SID); err != nil {
			return err
		}
	} else if err != nil && !isTokenFault(err) {
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

// introspect is RFC 7662 token introspection, for confidential tenants
// (resource servers with credentials). A tenant learns only about its own
// tokens; anything else is simply inactive (§2.2).
func (s *Server) introspect(c echo.Context) error {
	p, client, err := s.clientRequest(c)
	if err != nil {
		return err
	}
	if !client.Confidential() {
		return oautherr.New(oautherr.UnauthorizedClient, "introspection requires a confidential client")
	}
	claims, err := s.tokens.Verify(c.Request().Context(), p.Get("token"))
	if err != nil {
		if isTokenFault(err) {
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

// endSession is OIDC RP-Initiated Logout 1.0: GET or POST /logout with
// id_token_hint, post_logout_redirect_uri and state (§2: the OP supports
// both; POST sends them as a form). It redirects only to a post-logout URI
// registered, byte for byte, for the tenant the hint was issued to;
// otherwise it shows a page. A POST is answered with 303 (httpx.Redirect).
func (s *Server) endSession(c echo.Context) error {
	q := c.QueryParams()
	if c.Request().Method == http.MethodPost {
		if err := c.Request().ParseForm(); err != nil {
			return httpx.Page(http.StatusBadRequest, "Invalid sign-out request", "The sign-out form could not be read.")
		}
		q = c.Request().PostForm
	}
	for _, p := range []string{"id_token_hint", "post_logout_redirect_uri", "state", "client_id"} {
		if len(q[p]) > 1 {
			return httpx.Page(http.StatusBadRequest, "Invalid sign-out request", "The request repeats "+p+".")
		}
	}
	var tenantID string
	if hint := q.Get("id_token_hint"); hint != "" {
		claims, err := s.keys.ParseIDTokenHint(hint, s.cfg.Issuer)
		if err != nil {
			return httpx.Page(http.StatusBadRequest, "Invalid sign-out request", "The sign-out request carries an ID token this broker did not issue.")
		}
		tenantID = claims.Audience[0]
		if err := s.tokens.RevokeSession(c.Request().Context(), claims.SID); err != nil {
			return err
		}
	}
	if cid := q.Get("client_id"); cid != "" {
		if tenantID != "" && cid != tenantID {
			return httpx.Page(http.StatusBadRequest, "Invalid sign-out request", "client_id does not match the ID token.")
		}
		tenantID = cid
	}
	target := q.Get("post_logout_redirect_uri")
	if target == "" {
		return signedOutPage(c)
	}
	if tenantID == "" {
		// The URI is checked against one app's registrations (§3): which
		// app must be said.
		return httpx.Page(http.StatusBadRequest, "Invalid sign-out request", "The app asked to return to an address after sign-out but did not say which app it is: send id_token_hint (the ID token it received) or client_id with post_logout_redirect_uri.")
	}
	t, ok := s.tenants[tenantID]
	if !ok {
		return httpx.Page(http.StatusBadRequest, "Invalid sign-out request", "The sign-out request names an app the broker does not know (unknown client_id).")
	}
	if !slices.Contains(t.PostLogoutRedirectURIs, target) {
		return httpx.Page(http.StatusBadRequest, "Invalid sign-out request", "The app asked to return to an address that is not registered for it.").ForApp(t.DisplayName(), t.Home())
	}
	u, err := url.Parse(target)
	if err != nil {
		return errors.New("registered post-logout URI does not parse")
	}
	if st := q.Get("state"); st != "" {
		v := u.Query()
		v.Set("state", st)
		u.RawQuery = v.Encode()
	}
	return httpx.Redirect(c, u.String())
}

func signedOutPage(c echo.Context) error {
	httpx.SetPageHeaders(c.Response().Header())
	c.Response().Header().Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
	c.Response().WriteHeader(http.StatusOK)
	return web.Render(c.Response(), "error", web.ErrorPage{Status: http.StatusOK, Title: "You are signed out", Message: "You can close this window."})
}

// healthz says the process is alive.
func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readyz says whether this replica can serve: not shutting down,
// database reachable and taking writes, signing keys loaded.
func (s *Server) readyz(c echo.Context) error {
	if s.draining.Load() {
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "shutting down"})
	}
	if err := s.store.Ping(c.Request().Context()); err != nil {
		s.log.Warn("not ready: database unreachable", "err", err)
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "database unreachable"})
	}
	if s.writes != nil {
		if err := s.writes.check(c.Request().Context()); err != nil {
			s.log.Warn("not ready: database not taking writes", "err", err)
			return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "database not taking writes"})
		}
	}
	if !s.keys.Loaded() {
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "signing keys not loaded"})
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}
