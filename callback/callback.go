package callback

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"

	"github.com/labstack/echo/v4"
	"github.com/socialbroker/broker/internal/audit"
	"github.com/socialbroker/broker/internal/httpx"
	"github.com/socialbroker/broker/internal/oautherr"
	"github.com/socialbroker/broker/providers"
	"github.com/socialbroker/broker/storage"
	"github.com/socialbroker/broker/tokens"
)

var (
	errExpiredFlow   = errors.New("login state expired")
	errOtherBrowser  = errors.New("login state belongs to another browser")
	errOtherProvider = errors.New("login state belongs to another provider")
)

// callbackParams may each appear once; a repeated one could make two
// parts of the broker read two different values.
var callbackParams = []string{"state", "code", "iss", "error", "error_description"}

// callback is GET /auth/{provider}/callback.
func (h *Handler) callback(c echo.Context) error {
	q := c.QueryParams()
	// A form-post response, sealed by formPost (formpost.go).
	fromForm := q.Has("response")
	if fromForm {
		var ok bool
		if len(q) != 1 || len(q["response"]) != 1 || len(q.Get("response")) > 2*maxSealedResponse {
			return badState("The sign-in response is malformed.")
		}
		if q, ok = h.openResponse(q.Get("response")); !ok {
			return badState(usedState)
		}
	}
	for _, p := range callbackParams {
		if len(q[p]) > 1 {
			return badState("The sign-in response repeats the parameter " + p + ".")
		}
	}
	state := q.Get("state")
	if state == "" || len(state) > maxState {
		return badState("The sign-in response carries no valid state.")
	}
	f, use, err := h.takeFlow(c, state, c.Param("provider"))
	switch {
	case errors.Is(err, errBadFlow), errors.Is(err, errExpiredFlow), errors.Is(err, storage.ErrAlreadyUsed):
		// A state sealed under a key since replaced reads as malformed:
		// to its user, expired.
		return h.refused(f, err, usedState)
	case errors.Is(err, errOtherBrowser):
		h.log.Warn("login state presented by another browser", "provider", c.Param("provider"))
		return h.refused(f, err, "This sign-in was started in another browser.")
	case errors.Is(err, errOtherProvider):
		return h.refused(f, err, "This sign-in was started with another provider.")
	case err != nil:
		return err
	}
	// From here on every way out spends the state (see takeFlow): the
	// write that starts the session on success, spend on any other, and
	// a state found spent already is refused as used, whatever else went
	// wrong.
	spent := false
	defer func() {
		if !spent {
			h.spend(c, use, nil)
		}
	}()
	// spendNow spends the state on a way out without a session. One
	// spent already was replayed: its answer is the used state's page,
	// whatever else went wrong.
	spendNow := func() error {
		spent = true
		if err := h.spend(c, use, nil); err != nil {
			return h.refused(f, err, usedState)
		}
		return nil
	}
	// The flow was checked against the tenant at /authorize. Checked again
	// here, a configuration changed since is obeyed, and even a flow sealed
	// by someone holding the key (from a database backup, say) can lead
	// nowhere the tenant does not allow.
	up, upOK := h.dir.Upstream(f.Provider)
	tenant, ok := h.dir.App(f.Tenant)
	if !upOK || !ok || !offers(tenant, f.Provider, up) || !slices.Contains(tenant.RedirectURIs, f.RedirectURI) {
		if err := spendNow(); err != nil {
			return err
		}
		return h.refused(f, nil, "The app or provider of this sign-in is no longer configured.")
	}
	deny := func(code, desc string) error {
		if err := spendNow(); err != nil {
			return err
		}
		h.cfg.Events.Record(storage.AuditEvent{Type: audit.LoginFailed, Tenant: f.Tenant, IP: c.RealIP(),
			Detail: auditDetail("provider", f.Provider, "error", code, "reason", desc)})
		return h.redirectToApp(c, f.RedirectURI, f.AppState, url.Values{"error": {code}, "error_description": {desc}})
	}
	// RFC 9207 §2.4: when the upstream names itself, it must be the one we
	// sent the browser to; when it promised to name itself, it must
	// (mix-up defence, RFC 9700 §4.4).
	// One deadline for the whole sign-in's upstream work: a slow upstream
	// costs the user at most upstream_timeout, not that per call.
	upCtx, cancel := h.upstreamContext(c.Request().Context())
	defer cancel()
	iss := q.Get("iss")
	if iss != "" && !issuerMatches(up, iss) {
		h.log.Warn("callback iss does not match provider", "provider", f.Provider)
		return deny(oautherr.AccessDenied, "the sign-in response came from an unexpected issuer")
	}
	if iss == "" {
		switch promised, err := promisesIssuer(upCtx, up.Provider); {
		case err != nil:
			h.log.Warn("upstream discovery failed", "provider", f.Provider, "err", err)
			return deny(oautherr.TemporarilyUnavailable, "the sign-in provider cannot be reached; try again shortly")
		case promised:
			h.log.Warn("callback without the iss its provider promises", "provider", f.Provider)
			return deny(oautherr.AccessDenied, "the sign-in response does not name its issuer")
		}
	}
	if e := q.Get("error"); e != "" {
		return deny(oautherr.AccessDenied, "sign-in was cancelled or refused at the provider")
	}
	code := q.Get("code")
	if code == "" {
		return deny(oautherr.AccessDenied, "the provider returned no authorization code")
	}
	req := providers.ExchangeRequest{
		Code: code, Verifier: f.Verifier, Nonce: f.UpstreamNonce,
		RedirectURL: h.callbackURL(f.Provider), WantGroups: f.WantGroups, WantTeams: f.WantTeams,
	}
	if fromForm && q.Get("user") != "" {
		req.Response = map[string]string{"user": q.Get("user")}
	}
	id, err := up.Provider.Exchange(upCtx, req)
	switch {
	case errors.Is(err, providers.ErrInvalidIdentity):
		h.log.Warn("upstream identity rejected", "provider", f.Provider, "err", err)
		return deny(oautherr.AccessDenied, "the provider's answer could not be verified")
	case err != nil:
		h.log.Warn("upstream exchange failed", "provider", f.Provider, "err", err)
		return deny(oautherr.TemporarilyUnavailable, "the sign-in provider cannot be reached; try again shortly")
	}
	id.Provider = f.Provider
	if !inRealm(up, id) { // realm.go
		h.log.Warn("sign-in refused: email outside the provider's domains", "tenant", tenant.ID, "provider", f.Provider)
		return deny(oautherr.AccessDenied, "the account's email address is not in a domain this sign-in provider holds")
	}
	vouchOnlyInRealm(up, id) // realm.go
	verdict := tenant.Admit(id, up.Type)
	if verdict.Refusal != "" {
		return deny(oautherr.AccessDenied, verdict.Refusal)
	}
	ctx := c.Request().Context()
	user, err := h.cfg.Users.Resolve(ctx, id)
	if err != nil {
		return err
	}
	if user.Disabled {
		h.log.Info("sign-in refused: user disabled", "tenant", tenant.ID, "provider", f.Provider, "user", user.ID)
		return deny(oautherr.AccessDenied, "this account is disabled")
	}
	// The broker session, the app session, its code and the spent login
	// state: one write.
	sso, ssoSecret := h.newSSO(c, user, f.Provider, verdict.Facts, f.WantGroups)
	grant := tokens.CodeGrant{
		UserID: user.ID, TenantID: tenant.ID, Provider: f.Provider, Scope: f.Scope,
		Roles: verdict.Roles, Facts: verdict.Facts, Nonce: f.Nonce,
		RedirectURI: f.RedirectURI, CodeChallenge: f.Challenge, LoginState: use, SSO: sso,
	}
	brokerCode, sid, err := h.cfg.Grants.IssueCode(ctx, grant)
	if sso != nil && err != nil && !errors.Is(err, storage.ErrAlreadyUsed) {
		// A failure costs only the single sign-on (a logout that revoked
		// the renewed broker session meanwhile, say): the write is made
		// again without it.
		h.log.Warn("broker session not stored; this sign-in has no single sign-on", "err", err)
		grant.SSO = nil
		brokerCode, sid, err = h.cfg.Grants.IssueCode(ctx, grant)
		sso = nil
	}
	if sso != nil && err == nil {
		h.setSSOCookie(c, ssoSecret, h.ssoMaxAge())
	}
	// Either this write recorded the state, or another callback's did.
	spent = err == nil || errors.Is(err, storage.ErrAlreadyUsed)
	switch {
	case errors.Is(err, storage.ErrAlreadyUsed):
		// Another callback with this state started its session first.
		return h.refused(f, err, usedState)
	case errors.Is(err, storage.ErrUserDisabled):
		// Disabled (or deleted) since Resolve read it: the store refuses
		// the session in the same write.
		h.log.Info("sign-in refused: user disabled", "tenant", tenant.ID, "provider", f.Provider, "user", user.ID)
		return deny(oautherr.AccessDenied, "this account is disabled")
	case err != nil:
		return err
	}
	h.log.Info("sign-in", "tenant", tenant.ID, "provider", f.Provider, "user", user.ID, "sid", sid)
	h.cfg.Events.Record(storage.AuditEvent{Type: audit.LoginSucceeded, Tenant: tenant.ID, User: user.ID, IP: c.RealIP(),
		Detail: auditDetail("provider", f.Provider, "sid", sid)})
	return h.redirectToApp(c, f.RedirectURI, f.AppState, url.Values{"code": {brokerCode}})
}

// offers reports whether app t may sign in through upstream name, up: it
// names it, and up is no other tenant's own connection (whatever t's
// stored providers say: a record may predate the name's owner).
func offers(t *App, name string, up *Upstream) bool {
	return slices.Contains(t.Providers, name) && (up.Owner == "" || up.Owner == t.ID)
}

// upstreamContext is ctx bounded by the upstream deadline, if any.
func (h *Handler) upstreamContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if h.cfg.UpstreamTimeout <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, h.cfg.UpstreamTimeout)
}

// usedState is the page's message for a state that was used or expired.
// The page itself says where to start again.
const usedState = "This sign-in link was already used or has expired: going Back to a sign-in page after signing in, or leaving one open for long, leads here."

func badState(msg string) error {
	return httpx.Page(http.StatusBadRequest, "Sign-in could not be completed", msg).Logged("sign-in refused")
}

// auditDetail is an audit event's detail: a JSON object of string pairs.
func auditDetail(kv ...string) []byte {
	m := make(map[string]string, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	b, _ := json.Marshal(m) // a map of strings always marshals
	return b
}
