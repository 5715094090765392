package callback

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/socialbroker/broker/internal/email"
	"github.com/socialbroker/broker/internal/oautherr"
	"github.com/socialbroker/broker/storage"
	"github.com/socialbroker/broker/tokens"
)

// The broker session (SSO): after a sign-in the browser holds a cookie
// whose secret names a storage.SSOSession, and /authorize answers the next
// app that offers the same provider, and whose rules admit the user, with
// a code at once (OIDC Core §3.1.2.3: the OP may use an existing session).
//
// The cookie holds 256 random bits; the store keeps their hash, so a
// database reader cannot mint one. A forged value names no session. The
// secret changes at every trip upstream, and a logout revokes the session
// itself, so a copy taken earlier (a replay) signs no one in. It is
// HttpOnly, so no page script reads it, and SameSite=Lax, so that only
// top-level navigations (how /authorize is reached) carry it cross-site;
// over https it is __Host- prefixed: Secure, this host only, path /.

// SSOStore reads broker sessions and the users they sign in; a sign-in
// stores its broker session through Grants (tokens.CodeGrant.SSO).
type SSOStore interface {
	GetSSOSession(ctx context.Context, secretHash string) (storage.SSOSession, error)
	TouchSSOSession(ctx context.Context, id string, idleExpiresAt time.Time) error
	GetUser(ctx context.Context, id string) (storage.User, error)
}

// SSOConfig configures the broker session; a zero value keeps none.
type SSOConfig struct {
	Enabled bool
	IdleTTL time.Duration
	MaxTTL  time.Duration
	Store   SSOStore
}

// ssoCookie names the broker session's cookie (see cookieName).
const ssoCookie = "broker_sso"

func (h *Handler) setSSOCookie(c echo.Context, value string, maxAge int) {
	// Lax: /authorize is a top-level GET navigation from the app's site,
	// which Lax lets through and Strict would not.
	h.setCookie(c, h.cookieName(ssoCookie), value, maxAge)
}

// ClearSSOCookie tells the browser to drop its broker session cookie.
func (h *Handler) ClearSSOCookie(c echo.Context) { h.setSSOCookie(c, "", -1) }

// browserSSO is the broker session this browser's cookie names, live or
// not; false if the cookie is absent or names none.
func (h *Handler) browserSSO(c echo.Context) (storage.SSOSession, bool) {
	if !h.cfg.SSO.Enabled {
		return storage.SSOSession{}, false
	}
	ck, err := c.Cookie(h.cookieName(ssoCookie))
	if err != nil || !tokens.WellFormed(ck.Value) {
		return storage.SSOSession{}, false
	}
	s, err := h.cfg.SSO.Store.GetSSOSession(c.Request().Context(), tokens.StoredKey(ck.Value))
	if err != nil {
		if !errors.Is(err, storage.ErrNotFound) {
			h.log.Warn("broker session unreadable", "err", err)
		}
		return storage.SSOSession{}, false
	}
	return s, true
}

// BrowserSSO is the id of the broker session this browser's cookie
// names, "" if none (what a logout from this browser ends), and the user
// it signed in.
func (h *Handler) BrowserSSO(c echo.Context) (id, userID string) {
	s, _ := h.browserSSO(c)
	return s.ID, s.UserID
}

// signedIn is a live broker session with its user.
type signedIn struct {
	sess storage.SSOSession
	user storage.User
}

// currentSSO returns this browser's live broker session and its user, or
// nil. A disabled or deleted user has none.
func (h *Handler) currentSSO(c echo.Context) *signedIn {
	s, ok := h.browserSSO(c)
	if !ok || !s.Live(h.cfg.Now()) {
		return nil
	}
	u, err := h.cfg.SSO.Store.GetUser(c.Request().Context(), s.UserID)
	if err != nil {
		if !errors.Is(err, storage.ErrNotFound) {
			h.log.Warn("broker session's user unreadable", "err", err)
		}
		return nil
	}
	if u.Disabled {
		return nil
	}
	return &signedIn{sess: s, user: u}
}

// refusal says why a request cannot be answered from the broker session,
// as the error prompt=none answers with (OIDC Core §3.1.2.6); nil if it
// can.
func (h *Handler) refusal(si *signedIn, r *authRequest) *oautherr.Error {
	switch {
	case si == nil:
		return oautherr.New("login_required", "the user is not signed in")
	case r.forceLogin:
		return oautherr.New("login_required", "the user must sign in again")
	case r.maxAge >= 0 && h.cfg.Now().Sub(si.sess.AuthTime) >= time.Duration(r.maxAge)*time.Second:
		// §3.1.2.1: past max_age the OP must re-authenticate.
		return oautherr.New("login_required", "the user signed in longer ago than max_age allows")
	case r.loginHint != "" && strings.Contains(r.loginHint, "@") && !sameAddress(r.loginHint, si.user.Email):
		// login_hint names someone else than the signed-in user.
		return oautherr.New("login_required", "login_hint names another user")
	case r.provider != "" && r.provider != si.sess.Provider, !slices.Contains(r.tenant.Providers, si.sess.Provider):
		return oautherr.New("interaction_required", "the user must choose how to sign in to this app")
	case r.tenant.WantGroups && !si.sess.GroupsKnown, r.tenant.Judge == nil:
		return oautherr.New("interaction_required", "this app needs the user to sign in again")
	}
	if up, ok := h.dir.Upstream(si.sess.Provider); !ok || !offers(r.tenant, si.sess.Provider, up) {
		return oautherr.New("interaction_required", "the user must choose how to sign in to this app")
	}
	if _, admitted := r.tenant.Judge(si.sess.Facts); !admitted {
		return oautherr.New("interaction_required", "the signed-in account is not admitted to this app")
	}
	return nil
}

// sameAddress compares two addresses in their one canonical form:
// strings.EqualFold folds Unicode (acme.teſt would be acme.test), which
// the contract forbids.
func sameAddress(a, b string) bool {
	ca, ok := email.Canonical(a)
	cb, okb := email.Canonical(b)
	return ok && okb && ca == cb
}

// answerFromSSO signs the browser in to r's app from its broker session:
// a new app session linked to it, whose ID token's auth_time is the last
// trip upstream, and the code at the app's redirect URI.
func (h *Handler) answerFromSSO(c echo.Context, r *authRequest, si *signedIn) error {
	ctx := c.Request().Context()
	roles, _ := r.tenant.Judge(si.sess.Facts)
	code, sid, err := h.cfg.Grants.IssueCode(ctx, tokens.CodeGrant{
		UserID: si.user.ID, TenantID: r.tenant.ID, Provider: si.sess.Provider, Scope: r.scope,
		Roles: roles, Facts: si.sess.Facts, Nonce: r.nonce, RedirectURI: r.redirectURI,
		CodeChallenge: r.challenge, AuthTime: si.sess.AuthTime, SSOID: si.sess.ID,
	})
	if errors.Is(err, storage.ErrUserDisabled) {
		// Disabled since currentSSO read the user (the store refuses the
		// session in the same write): as if there were no broker session.
		return h.redirectToApp(c, r.redirectURI, r.state, url.Values{"error": {"login_required"},
			"error_description": {"the user is not signed in"}})
	}
	if err != nil {
		return err
	}
	idleEnd := h.cfg.Now().Add(h.cfg.SSO.IdleTTL)
	if si.sess.ExpiresAt.Before(idleEnd) {
		idleEnd = si.sess.ExpiresAt
	}
	if err := h.cfg.SSO.Store.TouchSSOSession(ctx, si.sess.ID, idleEnd); err != nil {
		h.log.Warn("broker session not touched", "err", err)
	}
	h.log.Info("sign-in from the broker session", "tenant", r.tenant.ID, "provider", si.sess.Provider, "user", si.user.ID, "sid", sid)
	return h.redirectToApp(c, r.redirectURI, r.state, url.Values{"code": {code}})
}

// newSSO is the broker session this browser starts or renews after a trip
// upstream that signed in user, and the cookie's secret; nil if single
// sign-on is off. A live session of the same user is renewed with a new
// secret (so the cookie changes at every sign-in); another user's is left
// to expire, with its apps' sessions. The session is stored with the app
// session, in one write (tokens.CodeGrant.SSO); the callback then sets
// the cookie (setSSOCookie).
func (h *Handler) newSSO(c echo.Context, user storage.User, provider string, facts []byte, groupsKnown bool) (*storage.SSOSession, string) {
	if !h.cfg.SSO.Enabled {
		return nil, ""
	}
	now := h.cfg.Now()
	secret := tokens.NewStamped(now)
	s := storage.SSOSession{
		ID: tokens.NewTimeID(now), SecretHash: tokens.StoredKey(secret), UserID: user.ID, Provider: provider,
		Facts: facts, GroupsKnown: groupsKnown, AuthTime: now, CreatedAt: now,
		IdleExpiresAt: now.Add(h.cfg.SSO.IdleTTL), ExpiresAt: now.Add(h.cfg.SSO.MaxTTL),
	}
	if old, ok := h.browserSSO(c); ok && old.Live(now) && old.UserID == user.ID {
		s.ID, s.CreatedAt = old.ID, old.CreatedAt
	}
	return &s, secret
}

// ssoMaxAge is the broker session cookie's Max-Age, in seconds.
func (h *Handler) ssoMaxAge() int { return int(h.cfg.SSO.MaxTTL / time.Second) }

// continueAs is the chooser's first button when the browser's broker
// session can answer r: "Continue as alice@acme.com".
func (h *Handler) continueAs(si *signedIn, r *authRequest) (provider, label string, ok bool) {
	if si == nil {
		return "", "", false
	}
	withProvider := *r
	withProvider.provider = si.sess.Provider
	if h.refusal(si, &withProvider) != nil {
		return "", "", false
	}
	label = si.user.Email
	if label == "" {
		label = si.user.Name
	}
	if up, ok := h.dir.Upstream(si.sess.Provider); ok && label == "" {
		label = "your " + up.Label + " account"
	}
	return si.sess.Provider, label, true
}
