package sqlite

import (
	"context"
	"strings"
	"time"

	"github.com/socialbroker/broker/storage"
)

const auditColumns = `id, time, type, actor, tenant, user_id, ip, detail`

func scanAudit(row scanner) (storage.AuditEvent, error) {
	var e storage.AuditEvent
	err := row.Scan(&e.ID, (*millis)(&e.Time), &e.Type, &e.Actor, &e.Tenant, &e.User, &e.IP, &e.Detail)
	return e, err
}

func (s *Store) AppendAudit(ctx context.Context, e storage.AuditEvent) (int64, error) {
	ids, err := s.appendAudit(ctx, []storage.AuditEvent{e})
	if err != nil {
		return 0, err
	}
	return ids[0], nil
}

func (s *Store) AppendAudits(ctx context.Context, events []storage.AuditEvent) error {
	_, err := s.appendAudit(ctx, events)
	return err
}

func (s *Store) appendAudit(ctx context.Context, events []storage.AuditEvent) ([]int64, error) {
	ids := make([]int64, len(events))
	err := s.inTx(ctx, func(tx *wtx) error {
		for i, e := range events {
			err := tx.QueryRow(`INSERT INTO audit_events (time, type, actor, tenant, user_id, ip, detail)
				VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
				millis(e.Time), e.Type, e.Actor, e.Tenant, e.User, e.IP, e.Detail).Scan(&ids[i])
			if err != nil {
				return err
			}
		}
		return nil
	})
	return ids, wrap("append audit", err)
}

// ListAudit names in its query only the filters q sets, so that each
// combination is a statement of its own, prepared once, whose plan can
// use the index of its filter (type, tenant, time) or the primary key.
func (s *Store) ListAudit(ctx context.Context, q storage.AuditQuery) ([]storage.AuditEvent, error) {
	var where []string
	var args []any
	if q.Type != "" {
		where, args = append(where, "type = ?"), append(args, q.Type)
	}
	if q.Tenant != "" {
		where, args = append(where, "tenant = ?"), append(args, q.Tenant)
	}
	if !q.Since.IsZero() {
		where, args = append(where, "time >= ?"), append(args, q.Since.UnixMilli())
	}
	if q.Before > 0 {
		where, args = append(where, "id < ?"), append(args, q.Before)
	}
	query := `SELECT ` + auditColumns + ` FROM audit_events`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	order := ` ORDER BY id DESC LIMIT ?`
	if !q.Since.IsZero() && q.Type == "" && q.Tenant == "" {
		// Walking ids down from the newest, SQLite (which keeps no
		// statistics here) would pass every older event when fewer than
		// Limit are recent enough. The unary plus stops it ordering by the
		// key, so it reads the recent events by audit_events_by_time and
		// sorts only those.
		order = ` ORDER BY +id DESC LIMIT ?`
	}
	query += order
	rows, err := s.reads.QueryContext(ctx, query, append(args, sqlLimit(q.Limit))...)
	events, err := collect(rows, err, scanAudit)
	return events, wrap("list audit", err)
}

// DeleteAuditBefore deletes in the expiry sweep's batches, so that a
// first sweep over a long backlog never holds other writes up for more
// than one batch.
func (s *Store) DeleteAuditBefore(ctx context.Context, before time.Time) (int64, error) {
	n, err := s.sweep(ctx, upTo(`DELETE FROM audit_events WHERE id IN
		(SELECT id FROM audit_events WHERE time < ? LIMIT ?)`, before.UnixMilli()))
	return n, wrap("delete audit", err)
}
