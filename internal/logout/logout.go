package logout

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"slices"

	"github.com/labstack/echo/v4"
	"github.com/socialbroker/broker/internal/audit"
	"github.com/socialbroker/broker/internal/httpx"
	"github.com/socialbroker/broker/internal/tenants"
	"github.com/socialbroker/broker/internal/web"
	"github.com/socialbroker/broker/storage"
	"github.com/socialbroker/broker/tokens"
)

// Endpoint is RP-initiated logout.
type Endpoint struct {
	Issuer  string
	Tokens  *tokens.Service
	Keys    *tokens.KeySet
	Tenants *tenants.Registry
	Audit   *audit.Recorder
	// Browser finds and forgets the browser's broker session (callback).
	Browser BrowserSessions
	// ConfirmKey keys the confirmation values (HMAC-SHA256), the same on
	// every replica, so that a form shown by one is accepted by another.
	ConfirmKey []byte
}

// BrowserSessions is the browser's broker session, as its cookie names it.
type BrowserSessions interface {
	// BrowserSSO is the id of the broker session the request's cookie
	// names, "" if none, and the user it signed in.
	BrowserSSO(c echo.Context) (id, userID string)
	ClearSSOCookie(c echo.Context)
}

// EndSession is OIDC RP-Initiated Logout 1.0: GET or POST /logout with
// id_token_hint, post_logout_redirect_uri and state (§2: the OP supports
// both; POST sends them as a form). It redirects only to a post-logout URI
// registered, byte for byte, for the tenant the hint was issued to;
// otherwise it shows a page. A POST is answered with 303 (httpx.Redirect).
//
// A request without id_token_hint proves no app asked for it: any site can
// link a browser to /logout, and its top-level GET carries the broker
// session's SameSite=Lax cookie. Such a request only asks the user (§2:
// "the OP SHOULD ask the End-User whether to log out"); the session ends
// when the broker's own confirmation form is posted back with a value
// bound to that session, which no other page can know.
func (e *Endpoint) EndSession(c echo.Context) error {
	q := c.QueryParams()
	if c.Request().Method == http.MethodPost {
		if err := c.Request().ParseForm(); err != nil {
			return httpx.Page(http.StatusBadRequest, "Invalid sign-out request", "The sign-out form could not be read.")
		}
		q = c.Request().PostForm
	}
	for _, p := range []string{"id_token_hint", "post_logout_redirect_uri", "state", "client_id", "confirm"} {
		if len(q[p]) > 1 {
			return httpx.Page(http.StatusBadRequest, "Invalid sign-out request", "The request repeats "+p+".")
		}
	}
	var hinted *tokens.IDClaims
	tenantID := q.Get("client_id")
	if hint := q.Get("id_token_hint"); hint != "" {
		claims, err := e.Keys.ParseIDTokenHint(hint, e.Issuer)
		if err != nil {
			return httpx.Page(http.StatusBadRequest, "Invalid sign-out request", "The sign-out request carries an ID token this broker did not issue.")
		}
		if tenantID != "" && tenantID != claims.Audience[0] {
			return httpx.Page(http.StatusBadRequest, "Invalid sign-out request", "client_id does not match the ID token.")
		}
		tenantID = claims.Audience[0]
		hinted = claims
	}
	target, t, err := e.returnTo(tenantID, q.Get("post_logout_redirect_uri"), q.Get("state"))
	if err != nil {
		return err
	}
	ctx := c.Request().Context()
	browser, browserUser := e.Browser.BrowserSSO(c)
	if hinted != nil {
		// The contract: RP-initiated logout ends the broker session and
		// every app session it started, not only the hint's.
		if err := e.Tokens.EndSession(ctx, hinted.SID, true); err != nil {
			return err
		}
		e.Audit.Record(storage.AuditEvent{Type: audit.Logout, Tenant: tenantID, User: hinted.Subject, IP: c.RealIP()})
	}
	// The browser's own session ends unasked only for a hint of its own
	// user. Anyone can hold an ID token of their own, so another user's
	// hint proves no app asked to sign this browser out: RP-Initiated
	// Logout §2 calls such a request suspect, and the broker asks, as it
	// does without a hint.
	ownHint := hinted != nil && hinted.Subject == browserUser
	if !ownHint && browser != "" && subtle.ConstantTimeCompare([]byte(q.Get("confirm")), []byte(e.confirmation(browser))) != 1 {
		return e.confirmPage(c, q, browser, t)
	}
	// The browser's own broker session ends too, whichever user's it is:
	// the browser asked to be signed out. (A POST from another site comes
	// without the SameSite=Lax cookie: only its hint counts then.)
	if browser != "" {
		if err := e.Tokens.RevokeSSOSession(ctx, browser); err != nil {
			return err
		}
		e.Browser.ClearSSOCookie(c)
		if hinted == nil {
			e.Audit.Record(storage.AuditEvent{Type: audit.Logout, Tenant: tenantID, IP: c.RealIP()})
		}
	}
	if target == "" {
		return render(c, "error", web.ErrorPage{Status: http.StatusOK, Title: "You are signed out", Message: "You can close this window."})
	}
	return httpx.Redirect(c, target)
}

// returnTo checks post_logout_redirect_uri against the registrations of
// the tenant the request names and adds state to it; "" when none is
// asked for. The tenant is returned when one is named.
func (e *Endpoint) returnTo(tenantID, uri, state string) (string, *tenants.Tenant, error) {
	var t *tenants.Tenant
	if tenantID != "" {
		found, ok := e.Tenants.Tenant(tenantID)
		if !ok {
			return "", nil, httpx.Page(http.StatusBadRequest, "Invalid sign-out request", "The sign-out request names an app the broker does not know (unknown client_id).")
		}
		t = found
	}
	if uri == "" {
		return "", t, nil
	}
	if t == nil {
		// The URI is checked against one app's registrations (§3): which
		// app must be said.
		return "", nil, httpx.Page(http.StatusBadRequest, "Invalid sign-out request", "The app asked to return to an address after sign-out but did not say which app it is: send id_token_hint (the ID token it received) or client_id with post_logout_redirect_uri.")
	}
	if !slices.Contains(t.PostLogoutRedirectURIs, uri) {
		return "", nil, httpx.Page(http.StatusBadRequest, "Invalid sign-out request", "The app asked to return to an address that is not registered for it.").ForApp(t.DisplayName(), t.Home())
	}
	u, err := url.Parse(uri)
	if err != nil {
		return "", nil, errors.New("registered post-logout URI does not parse")
	}
	if state != "" {
		v := u.Query()
		v.Set("state", state)
		u.RawQuery = v.Encode()
	}
	return u.String(), t, nil
}

// confirmation is the value the confirmation form posts back: a MAC of
// the broker session it ends under a key only the broker holds, so no
// other page can compute it, even one that learnt the session's id.
func (e *Endpoint) confirmation(ssoID string) string {
	m := hmac.New(sha256.New, e.ConfirmKey)
	m.Write([]byte(ssoID))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// confirmPage asks the user to confirm the sign-out, carrying the
// request's parameters along.
func (e *Endpoint) confirmPage(c echo.Context, q url.Values, ssoID string, t *tenants.Tenant) error {
	page := web.LogoutPage{Action: "/logout"}
	for _, p := range []string{"post_logout_redirect_uri", "state", "client_id"} {
		if v := q.Get(p); v != "" {
			page.Hidden = append(page.Hidden, web.Field{Name: p, Value: v})
		}
	}
	if t != nil && q.Get("client_id") == "" {
		// Named by a hint, which the form does not carry again.
		page.Hidden = append(page.Hidden, web.Field{Name: "client_id", Value: t.ID})
	}
	page.Hidden = append(page.Hidden, web.Field{Name: "confirm", Value: e.confirmation(ssoID)})
	if t != nil {
		page.AppName, page.AppHome = t.DisplayName(), t.Home()
	}
	return render(c, "logout", page)
}

// render answers 200 with one of the broker's pages.
func render(c echo.Context, name string, data any) error {
	httpx.SetPageHeaders(c.Response().Header())
	return httpx.WritePage(c, http.StatusOK, name, data)
}
