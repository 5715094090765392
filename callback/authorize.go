package callback

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"
	"github.com/socialbroker/broker/internal/httpx"
	"github.com/socialbroker/broker/internal/oautherr"
	"github.com/socialbroker/broker/internal/web"
	"github.com/socialbroker/broker/tokens"
)

// supportedScopes are the scopes the broker grants; others are dropped
// (RFC 6749 §3.3 lets the server grant less than asked, and the token
// response names what was granted).
var SupportedScopes = []string{"openid", "email", "profile", "roles", "offline_access"}

// defaultScope is granted when the app asks for none.
const defaultScope = "openid email profile"

// maxParam bounds every free-text parameter the broker stores.
const maxParam = 512

// authRequest is a validated authorization request.
type authRequest struct {
	tenant      *App
	redirectURI string
	state       string
	challenge   string
	scope       string
	nonce       string
	provider    string
	loginHint   string
	// prompt is what is passed upstream: the app's prompt values but
	// none (OIDC Core §3.1.2.1).
	prompt string
	// promptNone: answer from the broker session or with an error, never
	// with a page.
	promptNone bool
	// forceLogin: prompt=login or select_account; the broker session is
	// not used.
	forceLogin bool
	maxAge     int // seconds; -1 when absent
}

// appParams are the parameters an app may send to /authorize; each may
// appear at most once (RFC 6749 §3.1).
var appParams = []string{
	"response_type", "client_id", "redirect_uri", "state", "code_challenge",
	"code_challenge_method", "scope", "nonce", "provider", "login_hint", "prompt", "max_age",
}

// parseAuthRequest validates an authorization request. Until client_id and
// redirect_uri check out, faults are *httpx.PageError (never a redirect);
// after that, *redirectError carrying where to send the error.
func (h *Handler) parseAuthRequest(q url.Values) (*authRequest, error) {
	clientID := q.Get("client_id")
	if len(q["client_id"]) > 1 || len(q["redirect_uri"]) > 1 {
		return nil, httpx.Page(http.StatusBadRequest, "Invalid sign-in request", "The request names its app or return address more than once.")
	}
	tenant, ok := h.dir.App(clientID)
	if !ok {
		return nil, httpx.Page(http.StatusBadRequest, "Unknown app", "This sign-in request comes from an app the broker does not know (unknown client_id).")
	}
	redirectURI := q.Get("redirect_uri")
	// Exact string comparison, no normalisation, no wildcards (RFC 9700 §4.1.3).
	if !slices.Contains(tenant.RedirectURIs, redirectURI) {
		return nil, unregisteredRedirect(tenant, redirectURI)
	}
	r := &authRequest{
		tenant: tenant, redirectURI: redirectURI, state: q.Get("state"),
		challenge: q.Get("code_challenge"), nonce: q.Get("nonce"), provider: q.Get("provider"),
		loginHint: q.Get("login_hint"),
	}
	fail := func(code, desc string) (*authRequest, error) {
		return nil, &redirectError{redirectURI: redirectURI, state: r.state, err: oautherr.New(code, desc)}
	}
	for _, p := range appParams {
		if len(q[p]) > 1 {
			return fail(oautherr.InvalidRequest, p+" is repeated")
		}
		if len(q.Get(p)) > maxParam {
			return fail(oautherr.InvalidRequest, p+" is too long")
		}
	}
	switch rt := q.Get("response_type"); rt {
	case "code":
	case "":
		return fail(oautherr.InvalidRequest, "response_type is required")
	default:
		// No implicit or hybrid flow: tokens never travel in URLs (RFC 9700 §2.1.2).
		return fail(oautherr.UnsupportedResponseType, "only response_type=code is supported")
	}
	switch method := q.Get("code_challenge_method"); {
	case r.challenge == "" && method != "":
		return fail(oautherr.InvalidRequest, "code_challenge_method without code_challenge")
	case r.challenge == "" && !tenant.Confidential:
		// Public clients must use PKCE (RFC 9700 §2.1.1).
		return fail(oautherr.InvalidRequest, "code_challenge is required (PKCE with S256)")
	case r.challenge != "" && method != "S256":
		// An absent method means "plain" (RFC 7636 §4.3), which is refused.
		return fail(oautherr.InvalidRequest, "code_challenge_method must be S256")
	case r.challenge != "" && !tokens.ValidChallenge(r.challenge):
		return fail(oautherr.InvalidRequest, "code_challenge is not a valid S256 challenge")
	}
	if err := r.parsePrompt(q.Get("prompt"), q.Get("max_age")); err != nil {
		return fail(oautherr.InvalidRequest, err.Error())
	}
	r.scope = grantedScope(q.Get("scope"))
	if r.provider != "" && !slices.Contains(tenant.Providers, r.provider) {
		return fail(oautherr.InvalidRequest, "provider is not enabled for this app")
	}
	return r, nil
}

// parsePrompt reads prompt and max_age (OIDC Core §3.1.2.1). Unknown
// prompt values are ignored; consent needs nothing (the broker asks for
// no consent) and is passed upstream with the others.
func (r *authRequest) parsePrompt(prompt, maxAge string) error {
	r.maxAge = -1
	if maxAge != "" {
		n, err := strconv.Atoi(maxAge)
		if err != nil || n < 0 {
			return errors.New("max_age must be a non-negative number of seconds")
		}
		r.maxAge = n
	}
	values := strings.Fields(prompt)
	for _, v := range values {
		switch v {
		case "none":
			if len(values) > 1 {
				return errors.New("prompt=none cannot be combined with other values")
			}
			r.promptNone = true
		case "login", "select_account":
			r.forceLogin = true
		}
	}
	if !r.promptNone {
		r.prompt = strings.Join(values, " ")
	}
	return nil
}

func grantedScope(requested string) string {
	var granted []string
	for _, s := range strings.Fields(requested) {
		if slices.Contains(SupportedScopes, s) && !slices.Contains(granted, s) {
			granted = append(granted, s)
		}
	}
	if len(granted) == 0 {
		return defaultScope
	}
	return strings.Join(granted, " ")
}

// redirectError is an error the app hears about at its redirect_uri.
type redirectError struct {
	redirectURI string
	state       string
	err         *oautherr.Error
}

func (e *redirectError) Error() string { return e.err.Error() }

// authorize is GET /authorize.
func (h *Handler) authorize(c echo.Context) error {
	r, err := h.parseAuthRequest(c.QueryParams())
	if err != nil {
		return h.fail(c, err)
	}
	return h.proceed(c, r)
}

// proceed answers a valid authorization request: from the browser's
// broker session when it can, otherwise with the chooser or a trip
// upstream. With prompt=none it never shows a page: a code, or the
// reason why not at the app's redirect URI (OIDC Core §3.1.2.6).
func (h *Handler) proceed(c echo.Context, r *authRequest) error {
	si := h.currentSSO(c)
	if r.promptNone {
		if oe := h.refusal(si, r); oe != nil {
			return h.fail(c, &redirectError{redirectURI: r.redirectURI, state: r.state, err: oe})
		}
		return h.answerFromSSO(c, r, si)
	}
	if r.provider == "" {
		r.provider = h.homeRealm(r.tenant, r.loginHint) // realm.go
	}
	if r.provider == "" {
		if len(r.tenant.Providers) != 1 {
			return h.chooser(c, r, si)
		}
		r.provider = r.tenant.Providers[0]
	}
	if h.refusal(si, r) == nil {
		return h.answerFromSSO(c, r, si)
	}
	return h.start(c, r)
}

// login is GET /auth/{provider}/login: /authorize with the provider chosen.
func (h *Handler) login(c echo.Context) error {
	q := c.QueryParams()
	provider := c.Param("provider")
	if p := q.Get("provider"); p != "" && p != provider {
		return httpx.Page(http.StatusBadRequest, "Invalid sign-in request", "The request names two different providers.")
	}
	q.Set("provider", provider)
	r, err := h.parseAuthRequest(q)
	if err != nil {
		return h.fail(c, err)
	}
	return h.proceed(c, r)
}

// chooser renders the hosted "Sign in with ..." page. Each button carries
// the app's validated parameters to /auth/{provider}/login. When the
// browser's broker session can answer, "Continue as ..." comes first, and
// the button of the same provider asks the upstream for another account
// (prompt=select_account).
func (h *Handler) chooser(c echo.Context, r *authRequest, si *signedIn) error {
	page := web.SignInPage{TenantName: r.tenant.Name}
	q := c.QueryParams()
	loginURL := func(name string, extra ...string) string {
		pq := url.Values{}
		for _, p := range appParams {
			if v := q.Get(p); v != "" && p != "provider" {
				pq.Set(p, v)
			}
		}
		for i := 0; i+1 < len(extra); i += 2 {
			pq.Set(extra[i], extra[i+1])
		}
		return "/auth/" + url.PathEscape(name) + "/login?" + pq.Encode()
	}
	ssoProvider := ""
	if provider, label, ok := h.continueAs(si, r); ok {
		ssoProvider = provider
		page.Continue = &web.SignInButton{Provider: provider, Label: label, URL: loginURL(provider)}
	}
	for _, name := range r.tenant.Providers {
		up, ok := h.dir.Upstream(name)
		if !ok {
			continue
		}
		var extra []string
		if name == ssoProvider {
			extra = []string{"prompt", "select_account"}
		}
		page.Buttons = append(page.Buttons, web.SignInButton{Provider: name, Label: up.Label, URL: loginURL(name, extra...)})
	}
	page.Email = h.emailBox(r, q) // realm.go
	if page.Email != nil {
		httpx.SetSignInFormHeaders(c.Response().Header())
	} else {
		httpx.SetPageHeaders(c.Response().Header())
	}
	return httpx.WritePage(c, http.StatusOK, "signin", page)
}

// fail answers an error: as a redirect to the app when it is a
// redirectError, otherwise through the central error handler (a page).
func (h *Handler) fail(c echo.Context, err error) error {
	re, ok := err.(*redirectError)
	if !ok {
		return err
	}
	q := url.Values{"error": {re.err.Code}, "error_description": {re.err.Description}}
	return h.redirectToApp(c, re.redirectURI, re.state, q)
}

// redirectToApp sends the browser to the app's registered redirect URI with
// params, the app's state, and iss (RFC 9207 §2) so the app can tell which
// authorization server answered.
func (h *Handler) redirectToApp(c echo.Context, redirectURI, state string, params url.Values) error {
	u, err := url.Parse(redirectURI)
	if err != nil {
		return err // registered URIs are validated at load; unreachable
	}
	q := u.Query()
	for k, v := range params {
		q[k] = v
	}
	if state != "" {
		q.Set("state", state)
	}
	q.Set("iss", h.cfg.Issuer)
	u.RawQuery = q.Encode()
	return httpx.Redirect(c, u.String())
}
