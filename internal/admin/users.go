package admin

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/socialbroker/broker/internal/email"
	"github.com/socialbroker/broker/internal/httpx"
	"github.com/socialbroker/broker/storage"
)

type userView struct {
	ID            string    `json:"id"`
	Name          string    `json:"name,omitempty"`
	Email         string    `json:"email,omitempty"`
	EmailVerified bool      `json:"email_verified"`
	Picture       string    `json:"picture,omitempty"`
	Username      string    `json:"username,omitempty"`
	Disabled      bool      `json:"disabled"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

func viewUser(u storage.User) userView {
	return userView{ID: u.ID, Name: u.Name, Email: u.Email, EmailVerified: u.EmailVerified, Picture: u.Picture,
		Username: u.Username, Disabled: u.Disabled, CreatedAt: u.CreatedAt.UTC(), UpdatedAt: u.UpdatedAt.UTC()}
}

type identityView struct {
	Provider      string `json:"provider"`
	Subject       string `json:"subject"`
	Username      string `json:"username,omitempty"`
	Email         string `json:"email,omitempty"`
	EmailVerified bool   `json:"email_verified"`
}

type sessionView struct {
	ID        string    `json:"id"`
	User      string    `json:"user"`
	Tenant    string    `json:"tenant"`
	Provider  string    `json:"provider"`
	Scope     string    `json:"scope,omitempty"`
	Roles     []string  `json:"roles"`
	AuthTime  time.Time `json:"auth_time"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
}

func viewSession(s storage.Session) sessionView {
	roles := s.Roles
	if roles == nil {
		roles = []string{}
	}
	return sessionView{ID: s.ID, User: s.UserID, Tenant: s.TenantID, Provider: s.Provider, Scope: s.Scope, Roles: roles,
		AuthTime: s.AuthTime.UTC(), CreatedAt: s.CreatedAt.UTC(), ExpiresAt: s.ExpiresAt.UTC()}
}

// userDetail is GET /users/{id}: the profile, identities and live
// sessions.
type userDetail struct {
	userView
	Identities []identityView `json:"identities"`
	Sessions   []sessionView  `json:"sessions"`
}

func (a *API) listUsers(c echo.Context) error {
	p, err := pageOf(c)
	if err != nil {
		return err
	}
	q := storage.UserQuery{Tenant: c.QueryParam("tenant"), After: p.after, Limit: p.limit + 1}
	if s := c.QueryParam("email"); s != "" {
		var ok bool
		if q.Email, ok = email.Canonical(s); !ok {
			return badRequest("email: not an email address")
		}
	}
	if r := restricted(c); r != "" {
		if q.Tenant != "" && q.Tenant != r {
			return list(c, p, []userView(nil), nil)
		}
		q.Tenant = r
	}
	users, err := a.Store.ListUsers(c.Request().Context(), q)
	if err != nil {
		return err
	}
	views := make([]userView, len(users))
	for i, u := range users {
		views[i] = viewUser(u)
	}
	return list(c, p, views, func(v userView) string { return v.ID })
}

// loadUser finds a user and its live sessions the request's key may see.
// A key restricted to a tenant sees the users with a live session in it,
// and only those sessions.
func (a *API) loadUser(c echo.Context) (storage.User, []storage.Session, error) {
	ctx := c.Request().Context()
	id := c.Param("id")
	none := notFound("no user " + id)
	if !safeID.MatchString(id) {
		return storage.User{}, nil, none
	}
	u, err := a.Store.GetUser(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.User{}, nil, none
	} else if err != nil {
		return storage.User{}, nil, err
	}
	sessions, err := a.Store.ListUserSessions(ctx, id, a.Now())
	if err != nil {
		return storage.User{}, nil, err
	}
	if r := restricted(c); r != "" {
		sessions = slices.DeleteFunc(sessions, func(s storage.Session) bool { return s.TenantID != r })
		if len(sessions) == 0 {
			return storage.User{}, nil, none
		}
	}
	return u, sessions, nil
}

// userToChange is loadUser for a change to the user, which acts on it in
// every tenant: a key restricted to one tenant may not.
func (a *API) userToChange(c echo.Context) (storage.User, error) {
	u, _, err := a.loadUser(c)
	if err == nil && restricted(c) != "" {
		err = errRestricted(c)
	}
	return u, err
}

// userDetail answers a user with its identities and sessions. A key
// restricted to a tenant sees the identities of the tenant's providers
// only: which other services the user signs in to elsewhere is another
// tenant's business.
func (a *API) userDetail(c echo.Context, u storage.User, sessions []storage.Session) error {
	ids, err := a.Store.ListIdentities(c.Request().Context(), u.ID)
	if err != nil {
		return err
	}
	if r := restricted(c); r != "" {
		t, _, err := a.loadTenant(c, r)
		if err != nil {
			return err
		}
		ids = slices.DeleteFunc(ids, func(id storage.Identity) bool { return !slices.Contains(t.Providers, id.Provider) })
	}
	d := userDetail{userView: viewUser(u), Identities: []identityView{}, Sessions: []sessionView{}}
	for _, id := range ids {
		d.Identities = append(d.Identities, identityView{Provider: id.Provider, Subject: id.Subject, Username: id.Username,
			Email: id.Email, EmailVerified: id.EmailVerified})
	}
	for _, s := range sessions {
		d.Sessions = append(d.Sessions, viewSession(s))
	}
	return c.JSON(200, d)
}

func (a *API) getUser(c echo.Context) error {
	u, sessions, err := a.loadUser(c)
	if err != nil {
		return err
	}
	return a.userDetail(c, u, sessions)
}

// patchUser disables or enables a user: {"disabled": true}. Disabling
// ends every session of the user at once, on every replica (the store
// revokes them with the mark; replicas learn of it by their revocation
// poll, this one before it answers). It acts on the user everywhere, so
// a key restricted to one tenant may not.
func (a *API) patchUser(c echo.Context) error {
	ctx := c.Request().Context()
	u, err := a.userToChange(c)
	if err != nil {
		return err
	}
	obj, err := readObject(c)
	if err != nil {
		return err
	}
	var ps []httpx.Problem
	v, ok := obj["disabled"]
	disabled := takeBool(obj, "disabled", &ps)
	if !ok || v == nil {
		ps = append(ps, httpx.Problem{Field: "disabled", Message: "required: true or false"})
	}
	for k := range obj {
		ps = append(ps, httpx.Problem{Field: k, Message: "unknown key: only \"disabled\" can change"})
	}
	if len(ps) > 0 {
		return invalid(dedupe(ps))
	}
	if err := a.Store.SetUserDisabled(ctx, u.ID, disabled, a.Now()); errors.Is(err, storage.ErrNotFound) {
		return notFound("no user " + u.ID)
	} else if err != nil {
		return err
	}
	event := "user.enabled"
	if disabled {
		event = "user.disabled"
		if err := a.SyncRevocations(ctx); err != nil {
			return err
		}
	}
	a.audit(c, event, "", u.ID, nil)
	u, sessions, err := a.loadUser(c)
	if err != nil {
		return err
	}
	return a.userDetail(c, u, sessions)
}

func (a *API) deleteUser(c echo.Context) error {
	ctx := c.Request().Context()
	u, err := a.userToChange(c)
	if err != nil {
		return err
	}
	if err := a.Store.DeleteUser(ctx, u.ID, a.Now()); errors.Is(err, storage.ErrNotFound) {
		return notFound("no user " + u.ID)
	} else if err != nil {
		return err
	}
	a.audit(c, "user.deleted", "", u.ID, nil)
	if err := a.SyncRevocations(ctx); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// listUserSessions pages a user's live sessions, newest first; the
// cursor is the last one's creation time and id.
func (a *API) listUserSessions(c echo.Context) error {
	p, err := pageOf(c)
	if err != nil {
		return err
	}
	_, sessions, err := a.loadUser(c)
	if err != nil {
		return err
	}
	key := func(s storage.Session) string { return strconv.FormatInt(s.CreatedAt.UnixNano(), 10) + " " + s.ID }
	newer := func(x, y storage.Session) int { // newest first, then by id
		if d := y.CreatedAt.Compare(x.CreatedAt); d != 0 {
			return d
		}
		return strings.Compare(y.ID, x.ID)
	}
	slices.SortFunc(sessions, newer)
	if p.after != "" {
		ns, id, ok := strings.Cut(p.after, " ")
		n, err := strconv.ParseInt(ns, 10, 64)
		if !ok || err != nil {
			return badRequest("cursor: not a cursor this API gave")
		}
		mark := storage.Session{ID: id, CreatedAt: time.Unix(0, n)}
		sessions = slices.DeleteFunc(sessions, func(s storage.Session) bool { return newer(s, mark) <= 0 })
	}
	if len(sessions) > p.limit+1 {
		sessions = sessions[:p.limit+1]
	}
	views := make([]sessionView, len(sessions))
	keys := map[string]string{}
	for i, s := range sessions {
		views[i] = viewSession(s)
		keys[s.ID] = key(s)
	}
	return list(c, p, views, func(v sessionView) string { return keys[v.ID] })
}

// revokeSession ends one session: its refresh token fails at once and its
// access tokens at every replica's next revocation poll (this one's
// before it answers).
func (a *API) revokeSession(c echo.Context) error {
	ctx := c.Request().Context()
	sid := c.Param("sid")
	none := notFound("no session " + sid)
	if !safeID.MatchString(sid) {
		return none
	}
	s, err := a.Store.GetSession(ctx, sid)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && !sees(c, s.TenantID)) {
		return none
	} else if err != nil {
		return err
	}
	if !s.RevokedAt.IsZero() {
		return c.NoContent(http.StatusNoContent) // revoked already: nothing changes, nothing to audit
	}
	if err := a.Store.RevokeSession(ctx, sid, a.Now()); err != nil {
		return err
	}
	a.audit(c, "session.revoked", s.TenantID, s.UserID, map[string]any{"session": sid})
	if err := a.SyncRevocations(ctx); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}
