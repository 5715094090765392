package admin

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/socialbroker/broker/storage"
)

// detail encodes an event's detail. Callers put in it names, ids and
// counts, never a secret or a token.
func detail(m map[string]any) []byte {
	if len(m) == 0 {
		return nil
	}
	b, _ := json.Marshal(m) // maps of strings, numbers and lists always encode
	return b
}

// audit records an admin change, its actor the request's key. The change
// is made by then: an audit failure is logged, loudly, but does not turn
// the answer into an error that would read as "nothing changed".
func (a *API) audit(c echo.Context, typ, tenant, user string, d map[string]any) {
	e := storage.AuditEvent{Time: a.Now(), Type: typ, Actor: actorOf(c), Tenant: tenant, User: user,
		IP: c.RealIP(), Detail: detail(d)}
	if _, err := a.Store.AppendAudit(c.Request().Context(), e); err != nil {
		a.Log.Error("audit event not stored", "type", typ, "tenant", tenant, "user", user, "err", err)
	}
}

// auditView is an audit event as the API shows it.
type auditView struct {
	ID     int64           `json:"id"`
	Time   time.Time       `json:"time"`
	Type   string          `json:"type"`
	Actor  string          `json:"actor,omitempty"`
	Tenant string          `json:"tenant,omitempty"`
	User   string          `json:"user,omitempty"`
	IP     string          `json:"ip,omitempty"`
	Detail json.RawMessage `json:"detail,omitempty"`
}

// listAudit answers GET /audit?type=&tenant=&since=, newest first. A key
// restricted to a tenant sees that tenant's events only.
func (a *API) listAudit(c echo.Context) error {
	p, err := pageOf(c)
	if err != nil {
		return err
	}
	q := storage.AuditQuery{Type: c.QueryParam("type"), Tenant: c.QueryParam("tenant"), Limit: p.limit + 1}
	if r := restricted(c); r != "" {
		if q.Tenant != "" && q.Tenant != r {
			return list(c, p, []auditView(nil), nil)
		}
		q.Tenant = r
	}
	if s := c.QueryParam("since"); s != "" {
		if q.Since, err = time.Parse(time.RFC3339, s); err != nil {
			return badRequest(`since: want an RFC 3339 time, like "2026-12-07T08:00:00Z"`)
		}
	}
	if p.after != "" {
		if q.Before, err = strconv.ParseInt(p.after, 10, 64); err != nil || q.Before <= 0 {
			return badRequest("cursor: not a cursor this API gave")
		}
	}
	events, err := a.Store.ListAudit(c.Request().Context(), q)
	if err != nil {
		return err
	}
	views := make([]auditView, len(events))
	for i, e := range events {
		views[i] = auditView{ID: e.ID, Time: e.Time.UTC(), Type: e.Type, Actor: e.Actor,
			Tenant: e.Tenant, User: e.User, IP: e.IP, Detail: e.Detail}
	}
	return list(c, p, views, func(v auditView) string { return strconv.FormatInt(v.ID, 10) })
}
