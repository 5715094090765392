package oauth

import (
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/socialbroker/broker/internal/cookiemode"
	"github.com/socialbroker/broker/internal/oautherr"
	"github.com/socialbroker/broker/tokens"
)

// tokenResponse is RFC 6749 §5.1 (+ OIDC Core §3.1.3.3 id_token).
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"` // absent in cookie mode
	Scope        string `json:"scope"`
	IDToken      string `json:"id_token,omitempty"`
}

// Token is POST /token.
func (e *Endpoints) Token(c echo.Context) error {
	p, client, err := e.Auth.ClientRequest(c)
	if err != nil {
		return err
	}
	if err := cookiemode.CheckClient(c, client); err != nil {
		return err
	}
	ctx := c.Request().Context()
	var g *tokens.Grant
	switch p.Get("grant_type") {
	case "authorization_code":
		g, err = e.Tokens.ExchangeCode(ctx, tokens.CodeExchange{
			Code: p.Get("code"), ClientID: client.ID,
			RedirectURI: p.Get("redirect_uri"), Verifier: p.Get("code_verifier"),
		})
	case "refresh_token":
		g, err = e.Tokens.Refresh(ctx, p.Get("refresh_token"), sameClient(client.ID))
	case "":
		return oautherr.New(oautherr.InvalidRequest, "grant_type is required")
	default:
		return oautherr.New(oautherr.UnsupportedGrantType, "supported: authorization_code, refresh_token")
	}
	if err != nil {
		return err
	}
	refresh := g.RefreshToken
	if e.Cookies.Send(c, g) {
		refresh = ""
	}
	return c.JSON(http.StatusOK, tokenResponse{
		AccessToken: g.AccessToken, TokenType: "Bearer", ExpiresIn: int64(g.ExpiresIn.Seconds()),
		RefreshToken: refresh, Scope: g.Scope, IDToken: g.IDToken,
	})
}

// sameClient admits a refresh only by the client the session belongs to
// (RFC 6749 §6).
func sameClient(clientID string) func(string) error {
	return func(tenant string) error {
		if tenant != clientID {
			return oautherr.New(oautherr.InvalidGrant, "refresh token was issued to another client")
		}
		return nil
	}
}
