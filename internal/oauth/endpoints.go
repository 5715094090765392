package oauth

import (
	"github.com/socialbroker/broker/internal/authn"
	"github.com/socialbroker/broker/internal/cookiemode"
	"github.com/socialbroker/broker/storage"
	"github.com/socialbroker/broker/tokens"
)

// Endpoints are the standard endpoints' handlers.
type Endpoints struct {
	Issuer  string
	Tokens  *tokens.Service
	Keys    *tokens.KeySet
	Users   storage.Users
	Auth    *authn.Authn
	Cookies *cookiemode.Cookies
}
