package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/socialbroker/broker/storage"
)

const ssoColumns = `id, secret_hash, user_id, provider, facts, groups_known, auth_time, created_at, idle_expires_at, expires_at, revoked_at`

// PutSSOSession inserts s, or rotates the session s.ID names. The
// conflict's update keeps user_id and created_at, and skips a revoked
// session: no sign-in revives a session that a logout ended.
func (s *Store) PutSSOSession(ctx context.Context, ss storage.SSOSession) error {
	err := s.inTx(ctx, func(tx *wtx) error { return putSSO(tx, ss) })
	return wrap("put sso session", err)
}

// putSSO is PutSSOSession inside a write transaction.
func putSSO(tx *wtx, ss storage.SSOSession) error {
	res, err := tx.Exec(`INSERT INTO sso_sessions (`+ssoColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET secret_hash = excluded.secret_hash, provider = excluded.provider,
			facts = excluded.facts, groups_known = excluded.groups_known, auth_time = excluded.auth_time,
			idle_expires_at = excluded.idle_expires_at, expires_at = excluded.expires_at
		WHERE sso_sessions.revoked_at IS NULL`,
		ss.ID, ss.SecretHash, ss.UserID, ss.Provider, ss.Facts, ss.GroupsKnown,
		millis(ss.AuthTime), millis(ss.CreatedAt), millis(ss.IdleExpiresAt), millis(ss.ExpiresAt), millis(ss.RevokedAt))
	if n, err := rowsAffected(res, err); err != nil || n == 1 {
		return err
	}
	return storage.ErrRevoked
}

// GetSSOSession reads by the secret's hash (a UNIQUE index).
func (s *Store) GetSSOSession(ctx context.Context, secretHash string) (storage.SSOSession, error) {
	var ss storage.SSOSession
	err := s.reads.QueryRowContext(ctx, `SELECT `+ssoColumns+` FROM sso_sessions WHERE secret_hash = ?`, secretHash).Scan(
		&ss.ID, &ss.SecretHash, &ss.UserID, &ss.Provider, &ss.Facts, &ss.GroupsKnown,
		(*millis)(&ss.AuthTime), (*millis)(&ss.CreatedAt), (*millis)(&ss.IdleExpiresAt), (*millis)(&ss.ExpiresAt), (*millis)(&ss.RevokedAt))
	return ss, wrap("get sso session", err)
}

func (s *Store) TouchSSOSession(ctx context.Context, id string, idleExpiresAt time.Time) error {
	err := s.execOne(ctx, `UPDATE sso_sessions SET idle_expires_at = ? WHERE id = ? AND revoked_at IS NULL`,
		millis(idleExpiresAt), id)
	return wrap("touch sso session", err)
}

// EndProviderSSOSessions scans the broker sessions (no index on provider):
// it runs at an operator's change to a connection, rarely.
func (s *Store) EndProviderSSOSessions(ctx context.Context, provider string, now time.Time) (int64, error) {
	if now.IsZero() {
		return 0, wrap("end provider sso sessions", errZeroNow)
	}
	var n int64
	err := s.inTx(ctx, func(tx *wtx) (err error) {
		n, err = rowsAffected(tx.Exec(`UPDATE sso_sessions SET revoked_at = ? WHERE provider = ? AND revoked_at IS NULL`, millis(now), provider))
		return err
	})
	return n, wrap("end provider sso sessions", err)
}

// RevokeSSOSession ends the broker session and its app sessions in one
// write; the app sessions' trigger queues their back-channel logouts in
// it too.
func (s *Store) RevokeSSOSession(ctx context.Context, id string, now time.Time) ([]string, error) {
	if now.IsZero() {
		return nil, wrap("revoke sso session", errZeroNow)
	}
	var ended []string
	err := s.inTx(ctx, func(tx *wtx) error {
		ended = nil
		if err := oneRow(tx.Exec(`UPDATE sso_sessions SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`, millis(now), id)); err != nil {
			return err
		}
		// One point UPDATE ... RETURNING per session: the write
		// connection runs single-row statements only (wtx), and a broker
		// session starts a handful of app sessions. sso_id != '' lets
		// the partial index sessions_by_sso serve the search.
		for {
			var sid string
			err := tx.QueryRow(`UPDATE sessions SET revoked_at = ? WHERE id =
				(SELECT id FROM sessions WHERE sso_id = ? AND sso_id != '' AND revoked_at IS NULL LIMIT 1) RETURNING id`, millis(now), id).Scan(&sid)
			if errors.Is(err, sql.ErrNoRows) {
				return nil
			}
			if err != nil {
				return err
			}
			ended = append(ended, sid)
		}
	})
	return ended, wrap("revoke sso session", err)
}

// ClaimLogouts takes due deliveries one point statement at a time, all in
// one write transaction: the single writer is the lease's mutual
// exclusion, and replicas on one file share that writer's lock.
func (s *Store) ClaimLogouts(ctx context.Context, now, leaseUntil time.Time, limit int) ([]storage.LogoutDelivery, error) {
	if now.IsZero() {
		return nil, wrap("claim logouts", errZeroNow)
	}
	var out []storage.LogoutDelivery
	err := s.inTx(ctx, func(tx *wtx) error {
		out = nil
		for range limit {
			var d storage.LogoutDelivery
			err := tx.QueryRow(`UPDATE logout_outbox SET attempts = attempts + 1, next_attempt_at = ? WHERE id =
				(SELECT id FROM logout_outbox WHERE next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT 1)
				RETURNING id, session_id, tenant_id, user_id, attempts, created_at, next_attempt_at`,
				millis(leaseUntil), millis(now)).Scan(&d.ID, &d.SessionID, &d.TenantID, &d.UserID, &d.Attempts,
				(*millis)(&d.CreatedAt), (*millis)(&d.NextAttemptAt))
			if errors.Is(err, sql.ErrNoRows) {
				return nil
			}
			if err != nil {
				return err
			}
			out = append(out, d)
		}
		return nil
	})
	return out, wrap("claim logouts", err)
}

func (s *Store) RetryLogout(ctx context.Context, id int64, at time.Time) error {
	return wrap("retry logout", s.execOne(ctx, `UPDATE logout_outbox SET next_attempt_at = ? WHERE id = ?`, millis(at), id))
}

func (s *Store) DeleteLogout(ctx context.Context, id int64) error {
	return wrap("delete logout", s.exec(ctx, `DELETE FROM logout_outbox WHERE id = ?`, id))
}
