package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/socialbroker/broker/storage"
)

const auditColumns = `id, time, type, actor, tenant, user_id, ip, detail`

func scanAudit(row scanner) (storage.AuditEvent, error) {
	var e storage.AuditEvent
	err := row.Scan(&e.ID, (*tstz)(&e.Time), &e.Type, &e.Actor, &e.Tenant, &e.User, &e.IP, &e.Detail)
	return e, err
}

// AppendAudit takes its id from an identity column: ids only grow, but
// two events appended together may commit in either order. Paging newest
// first by id may then miss, on a page already read, an event committed
// just after it was read; that event is listed by every later read, which
// is all an audit log needs.
func (s *Store) AppendAudit(ctx context.Context, e storage.AuditEvent) (int64, error) {
	var id int64
	err := s.do(ctx, opTimeout, func(ctx context.Context) error {
		return s.pool.QueryRow(ctx, insertAudit, auditArgs(e)...).Scan(&id)
	})
	return id, wrap("append audit", err)
}

// AppendAudits stores the events with one statement, however many there
// are: one round trip, one implicit transaction, one execution instead of
// one per event. unnest yields the rows in the arrays' order, so the ids
// follow the events' order.
func (s *Store) AppendAudits(ctx context.Context, events []storage.AuditEvent) error {
	if len(events) == 0 {
		return nil
	}
	n := len(events)
	times := make([]tstz, n)
	types, actors, tenants, users, ips := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	details := make([][]byte, n)
	for i, e := range events {
		times[i], types[i], actors[i], tenants[i], users[i], ips[i], details[i] = tstz(e.Time), e.Type, e.Actor, e.Tenant, e.User, e.IP, e.Detail
	}
	err := s.do(ctx, opTimeout, func(ctx context.Context) error {
		_, err := s.pool.Exec(ctx, insertAudits, times, types, actors, tenants, users, ips, details)
		return err
	})
	return wrap("append audits", err)
}

const insertAudit = `INSERT INTO audit_events (time, type, actor, tenant, user_id, ip, detail)
	VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`

const insertAudits = `INSERT INTO audit_events (time, type, actor, tenant, user_id, ip, detail)
	SELECT * FROM unnest($1::timestamptz[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::bytea[])`

func auditArgs(e storage.AuditEvent) []any {
	return []any{tstz(e.Time), e.Type, e.Actor, e.Tenant, e.User, e.IP, e.Detail}
}

// ListAudit names in its query only the filters q sets, so that each
// combination is a statement of its own whose plan can use the index of
// its filter (type, tenant, time) or the primary key.
func (s *Store) ListAudit(ctx context.Context, q storage.AuditQuery) ([]storage.AuditEvent, error) {
	var where []string
	var args []any
	filter := func(cond string, arg any) {
		args = append(args, arg)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if q.Type != "" {
		filter("type = $%d", q.Type)
	}
	if q.Tenant != "" {
		filter("tenant = $%d", q.Tenant)
	}
	if !q.Since.IsZero() {
		filter("time >= $%d", instant(q.Since))
	}
	if q.Before > 0 {
		filter("id < $%d", q.Before)
	}
	query := `SELECT ` + auditColumns + ` FROM audit_events`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	args = append(args, sqlLimit(q.Limit))
	query += fmt.Sprintf(` ORDER BY id DESC LIMIT $%d`, len(args))
	events, err := queryAll(ctx, s, scanAudit, query, args...)
	return events, wrap("list audit", err)
}

// DeleteAuditBefore finds its rows through audit_events_by_time.
func (s *Store) DeleteAuditBefore(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.do(ctx, sweepTimeout, func(ctx context.Context) error {
		tag, err := s.pool.Exec(ctx, `DELETE FROM audit_events WHERE time < $1`, instant(before))
		n = tag.RowsAffected()
		return err
	})
	return n, wrap("delete audit", err)
}
