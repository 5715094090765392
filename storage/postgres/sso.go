package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/socialbroker/broker/storage"
)

const ssoColumns = `id, secret_hash, user_id, provider, facts, groups_known, auth_time, created_at, idle_expires_at, expires_at, revoked_at`

// PutSSOSession inserts ss, or rotates the session ss.ID names. The
// conflict's update keeps user_id and created_at, and skips a revoked
// session: no sign-in revives a session that a logout ended.
func (s *Store) PutSSOSession(ctx context.Context, ss storage.SSOSession) error {
	err := s.do(ctx, opTimeout, func(ctx context.Context) error {
		tag, err := s.pool.Exec(ctx, upsertSSO, ssoArgs(ss)...)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return storage.ErrRevoked
		}
		return nil
	})
	return wrap("put sso session", err)
}

const upsertSSO = `INSERT INTO sso_sessions (` + ssoColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
	ON CONFLICT (id) DO UPDATE SET secret_hash = excluded.secret_hash, provider = excluded.provider,
		facts = excluded.facts, groups_known = excluded.groups_known, auth_time = excluded.auth_time,
		idle_expires_at = excluded.idle_expires_at, expires_at = excluded.expires_at
	WHERE sso_sessions.revoked_at IS NULL`

// upsertSSOOrFail is upsertSSO as one statement of a batch, which cannot
// look at a statement's result before the next runs: when the upsert
// skips a revoked session it fails with division_by_zero, which aborts
// the batch's implicit transaction whole (ssoRevoked).
const upsertSSOOrFail = `WITH put AS (` + upsertSSO + ` RETURNING 1) SELECT 1 / count(*) FROM put`

// ssoRevoked reports the error of upsertSSOOrFail on a revoked session.
func ssoRevoked(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "22012"
}

func ssoArgs(ss storage.SSOSession) []any {
	return []any{ss.ID, ss.SecretHash, ss.UserID, ss.Provider, ss.Facts, ss.GroupsKnown,
		tstz(ss.AuthTime), tstz(ss.CreatedAt), tstz(ss.IdleExpiresAt), tstz(ss.ExpiresAt), tstz(ss.RevokedAt)}
}

// GetSSOSession reads by the secret's hash (a UNIQUE index).
func (s *Store) GetSSOSession(ctx context.Context, secretHash string) (storage.SSOSession, error) {
	var ss storage.SSOSession
	err := s.do(ctx, opTimeout, func(ctx context.Context) error {
		return s.pool.QueryRow(ctx, `SELECT `+ssoColumns+` FROM sso_sessions WHERE secret_hash = $1`, secretHash).Scan(
			&ss.ID, &ss.SecretHash, &ss.UserID, &ss.Provider, &ss.Facts, &ss.GroupsKnown,
			(*tstz)(&ss.AuthTime), (*tstz)(&ss.CreatedAt), (*tstz)(&ss.IdleExpiresAt), (*tstz)(&ss.ExpiresAt), (*tstz)(&ss.RevokedAt))
	})
	return ss, wrap("get sso session", err)
}

func (s *Store) TouchSSOSession(ctx context.Context, id string, idleExpiresAt time.Time) error {
	err := s.do(ctx, opTimeout, func(ctx context.Context) error {
		return oneRow(s.pool.Exec(ctx, `UPDATE sso_sessions SET idle_expires_at = $1 WHERE id = $2 AND revoked_at IS NULL`,
			tstz(idleExpiresAt), id))
	})
	return wrap("touch sso session", err)
}

// RevokeSSOSession ends the broker session and its app sessions in one
// transaction; the app sessions' trigger queues their back-channel
// logouts in it too.
func (s *Store) RevokeSSOSession(ctx context.Context, id string, now time.Time) ([]string, error) {
	if now.IsZero() {
		return nil, wrap("revoke sso session", errZeroNow)
	}
	var ended []string
	err := s.do(ctx, opTimeout, func(ctx context.Context) error {
		return s.inTx(ctx, func(tx pgx.Tx) error {
			if err := oneRow(tx.Exec(ctx, `UPDATE sso_sessions SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2`, tstz(now), id)); err != nil {
				return err
			}
			// sso_id <> '' lets the partial index sessions_by_sso serve it.
			rows, err := tx.Query(ctx, `UPDATE sessions SET revoked_at = $1 WHERE sso_id = $2 AND sso_id <> '' AND revoked_at IS NULL RETURNING id`, tstz(now), id)
			if err != nil {
				return err
			}
			ended, err = collect(rows, func(row scanner) (string, error) {
				var sid string
				return sid, row.Scan(&sid)
			})
			return err
		})
	})
	return ended, wrap("revoke sso session", err)
}

// EndProviderSSOSessions scans the broker sessions (no index on provider):
// it runs at an operator's change to a connection, rarely.
func (s *Store) EndProviderSSOSessions(ctx context.Context, provider string, now time.Time) (int64, error) {
	if now.IsZero() {
		return 0, wrap("end provider sso sessions", errZeroNow)
	}
	var n int64
	err := s.do(ctx, opTimeout, func(ctx context.Context) error {
		tag, err := s.pool.Exec(ctx, `UPDATE sso_sessions SET revoked_at = $1 WHERE provider = $2 AND revoked_at IS NULL`, tstz(now), provider)
		n = tag.RowsAffected()
		return err
	})
	return n, wrap("end provider sso sessions", err)
}

// ClaimLogouts leases due deliveries with FOR UPDATE SKIP LOCKED: two
// replicas claiming at once take disjoint rows, neither waiting for the
// other, and a row leased (next_attempt_at moved to leaseUntil) is not
// due for anyone until the lease ends.
func (s *Store) ClaimLogouts(ctx context.Context, now, leaseUntil time.Time, limit int) ([]storage.LogoutDelivery, error) {
	if now.IsZero() {
		return nil, wrap("claim logouts", errZeroNow)
	}
	var out []storage.LogoutDelivery
	err := s.do(ctx, opTimeout, func(ctx context.Context) error {
		rows, err := s.pool.Query(ctx, `UPDATE logout_outbox SET attempts = attempts + 1, next_attempt_at = $1
			WHERE id IN (SELECT id FROM logout_outbox WHERE next_attempt_at <= $2
				ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)
			RETURNING id, session_id, tenant_id, user_id, attempts, created_at, next_attempt_at`,
			tstz(leaseUntil), instant(now), limit)
		if err != nil {
			return err
		}
		out, err = collect(rows, func(row scanner) (storage.LogoutDelivery, error) {
			var d storage.LogoutDelivery
			err := row.Scan(&d.ID, &d.SessionID, &d.TenantID, &d.UserID, &d.Attempts, (*tstz)(&d.CreatedAt), (*tstz)(&d.NextAttemptAt))
			return d, err
		})
		return err
	})
	return out, wrap("claim logouts", err)
}

func (s *Store) RetryLogout(ctx context.Context, id int64, at time.Time) error {
	err := s.do(ctx, opTimeout, func(ctx context.Context) error {
		return oneRow(s.pool.Exec(ctx, `UPDATE logout_outbox SET next_attempt_at = $1 WHERE id = $2`, tstz(at), id))
	})
	return wrap("retry logout", err)
}

func (s *Store) DeleteLogout(ctx context.Context, id int64) error {
	err := s.do(ctx, opTimeout, func(ctx context.Context) error {
		_, err := s.pool.Exec(ctx, `DELETE FROM logout_outbox WHERE id = $1`, id)
		return err
	})
	return wrap("delete logout", err)
}
