package logout

import (
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
}

// EndSession is OIDC RP-Initiated Logout 1.0: GET or POST /logout with
// id_token_hint, post_logout_redirect_uri and state (§2: the OP supports
// both; POST sends them as a form). It redirects only to a post-logout URI
// registered, byte for byte, for the tenant the hint was issued to;
// otherwise it shows a page. A POST is answered with 303 (httpx.Redirect).
func (e *Endpoint) EndSession(c echo.Context) error {
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
		claims, err := e.Keys.ParseIDTokenHint(hint, e.Issuer)
		if err != nil {
			return httpx.Page(http.StatusBadRequest, "Invalid sign-out request", "The sign-out request carries an ID token this broker did not issue.")
		}
		tenantID = claims.Audience[0]
		if err := e.Tokens.RevokeSession(c.Request().Context(), claims.SID); err != nil {
			return err
		}
		e.Audit.Record(storage.AuditEvent{Type: audit.Logout, Tenant: tenantID, User: claims.Subject, IP: c.RealIP()})
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
	t, ok := e.Tenants.Tenant(tenantID)
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
