package callback

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/socialbroker/broker/internal/accounts"
	"github.com/socialbroker/broker/internal/httpx"
	"github.com/socialbroker/broker/internal/oautherr"
	"github.com/socialbroker/broker/providers"
	"github.com/socialbroker/broker/storage"
	"github.com/socialbroker/broker/tokens"
)

// flow is what the broker remembers between sending a browser upstream and
// its return. It is stored server-side under the hash of the broker's own
// state parameter, so it is single use and shared by every replica.
type flow struct {
	Browser       string `json:"b"`  // hash of the browser-binding cookie
	Tenant        string `json:"t"`  // client_id
	Provider      string `json:"p"`  // configured provider name
	RedirectURI   string `json:"r"`  // the app's validated redirect URI
	AppState      string `json:"s"`  // the app's state, returned untouched
	Challenge     string `json:"c"`  // the app's PKCE challenge
	Scope         string `json:"sc"` // granted scope
	Nonce         string `json:"n"`  // the app's OIDC nonce, for its ID token
	Verifier      string `json:"v"`  // our PKCE verifier towards the upstream
	UpstreamNonce string `json:"un"` // our nonce towards the upstream
	WantOrgs      bool   `json:"o"`
}

// Cookie names. Over https the __Host- prefix pins the cookie to this host
// and path / with Secure (RFC 6265bis §4.1.3.2); browsers refuse that
// prefix over plain http, where only loopback development runs.
const (
	bindingCookieSecure = "__Host-broker_login"
	bindingCookiePlain  = "broker_login"
)

func (h *Handler) cookieName() string {
	if h.secure {
		return bindingCookieSecure
	}
	return bindingCookiePlain
}

// browserBinding returns this browser's binding secret, minting a new one
// if it has none. One secret serves every flow the browser has in flight,
// so sign-ins in two tabs do not clobber each other.
func (h *Handler) browserBinding(c echo.Context) string {
	if ck, err := c.Cookie(h.cookieName()); err == nil && len(ck.Value) == 43 {
		return ck.Value
	}
	return tokens.NewOpaque()
}

func (h *Handler) setBindingCookie(c echo.Context, value string) {
	c.SetCookie(&http.Cookie{
		Name: h.cookieName(), Value: value, Path: "/",
		MaxAge:   int(h.cfg.LoginTTL / time.Second),
		HttpOnly: true, Secure: h.secure,
		// Lax: the upstream's return is a top-level GET navigation from
		// another site, which Lax lets through and Strict would not.
		SameSite: http.SameSiteLaxMode,
	})
}

// start stores the flow and sends the browser upstream.
func (h *Handler) start(c echo.Context, r *authRequest) error {
	up, ok := h.upstreams[r.provider]
	if !ok {
		return h.fail(c, &redirectError{redirectURI: r.redirectURI, state: r.state,
			err: oautherr.New(oautherr.InvalidRequest, "provider is not configured")})
	}
	binding := h.browserBinding(c)
	state := tokens.NewOpaque()
	f := flow{
		Browser: tokens.Hash(binding), Tenant: r.tenant.ID, Provider: r.provider,
		RedirectURI: r.redirectURI, AppState: r.state, Challenge: r.challenge,
		Scope: r.scope, Nonce: r.nonce,
		Verifier: tokens.NewOpaque(), UpstreamNonce: tokens.NewOpaque(),
		WantOrgs: up.Type == accounts.GitHubType && accounts.NeedsOrgs(r.tenant),
	}
	data, err := json.Marshal(f)
	if err != nil {
		return err
	}
	err = h.cfg.States.CreateLoginState(c.Request().Context(), storage.LoginState{
		ID: tokens.Hash(state), Data: data, ExpiresAt: h.cfg.Now().Add(h.cfg.LoginTTL),
	})
	if err != nil {
		return fmt.Errorf("callback: store login state: %w", err)
	}
	target, err := up.Provider.AuthCodeURL(c.Request().Context(), providers.AuthRequest{
		State: state, Nonce: f.UpstreamNonce, Verifier: f.Verifier,
		RedirectURL: h.callbackURL(r.provider), LoginHint: r.loginHint, Prompt: r.prompt,
		WantOrgs: f.WantOrgs,
	})
	if err != nil {
		h.log.Warn("upstream unavailable at login start", "provider", r.provider, "err", err)
		return h.fail(c, &redirectError{redirectURI: r.redirectURI, state: r.state,
			err: oautherr.New(oautherr.TemporarilyUnavailable, "the sign-in provider cannot be reached; try again shortly")})
	}
	h.setBindingCookie(c, binding)
	return httpx.Redirect(c, target)
}

// takeFlow consumes the flow named by state and checks it belongs to this
// browser and provider. Any fault is a page: the request cannot be trusted
// to say where to redirect.
func (h *Handler) takeFlow(c echo.Context, state, provider string) (*flow, error) {
	ls, err := h.cfg.States.TakeLoginState(c.Request().Context(), tokens.Hash(state), h.cfg.Now())
	if err != nil {
		return nil, err
	}
	var f flow
	if err := json.Unmarshal(ls.Data, &f); err != nil {
		return nil, fmt.Errorf("callback: decode login state: %w", err)
	}
	ck, cerr := c.Cookie(h.cookieName())
	if cerr != nil || subtle.ConstantTimeCompare([]byte(tokens.Hash(ck.Value)), []byte(f.Browser)) != 1 {
		return nil, errOtherBrowser
	}
	if f.Provider != provider {
		return nil, errOtherProvider
	}
	return &f, nil
}
