package sqlite

import (
	"context"
	"time"

	"github.com/socialbroker/broker/storage"
)

// ListUsers names in its query only the filters q sets (see ListAudit).
// Deleted users are never listed.
func (s *Store) ListUsers(ctx context.Context, q storage.UserQuery) ([]storage.User, error) {
	query := `SELECT ` + userColumns + ` FROM users WHERE deleted_at IS NULL AND id > ?`
	args := []any{q.After}
	if q.Email != "" {
		query += ` AND id IN (SELECT id FROM users WHERE email = ? UNION SELECT user_id FROM identities WHERE email = ?)`
		args = append(args, q.Email, q.Email)
	}
	if q.Tenant != "" {
		query += ` AND id IN (SELECT user_id FROM sessions WHERE tenant_id = ?)`
		args = append(args, q.Tenant)
	}
	query += ` ORDER BY id LIMIT ?`
	rows, err := s.reads.QueryContext(ctx, query, append(args, sqlLimit(q.Limit))...)
	users, err := collect(rows, err, scanUser)
	return users, wrap("list users", err)
}

// SetUserDisabled leaves UpdatedAt alone: it dates the profile, which
// disabling does not change.
func (s *Store) SetUserDisabled(ctx context.Context, id string, disabled bool, now time.Time) error {
	if now.IsZero() {
		return wrap("set user disabled", errZeroNow)
	}
	err := s.inTx(ctx, func(tx *wtx) error {
		if err := oneRow(tx.Exec(`UPDATE users SET disabled = ? WHERE id = ? AND deleted_at IS NULL`, disabled, id)); err != nil {
			return err
		}
		if !disabled {
			return nil
		}
		if _, err := tx.Exec(`UPDATE sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL`, millis(now), id); err != nil {
			return err
		}
		// Its broker sessions end too: re-enabled, the user signs in again,
		// rather than any browser that held a session (a stolen laptop's)
		// being signed back in silently.
		_, err := tx.Exec(`UPDATE sso_sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL`, millis(now), id)
		return err
	})
	return wrap("set user disabled", err)
}

// DeleteUser, in one transaction: the user's refresh tokens go, its
// sessions ended by now go, the others are revoked and kept until they
// expire without the upstream's facts (personal data nobody may use any
// more), and its identities go. The user's row goes too if no session is
// left; else it stays as a tombstone emptied of its profile, which GetUser
// and every other read treat as absent, until DeleteExpired removes it
// with the last of those sessions: sessions.user_id references users.
func (s *Store) DeleteUser(ctx context.Context, id string, now time.Time) error {
	if now.IsZero() {
		return wrap("delete user", errZeroNow)
	}
	at := millis(now)
	err := s.inTx(ctx, func(tx *wtx) error {
		// First, so that an unknown or deleted user fails before anything
		// is written.
		if err := oneRow(tx.Exec(`UPDATE users SET name = '', email = '', email_verified = 0, picture = '', username = '',
			disabled = 0, updated_at = ?, deleted_at = ? WHERE id = ? AND deleted_at IS NULL`, at, at, id)); err != nil {
			return err
		}
		for _, stmt := range []string{
			`DELETE FROM refresh_tokens WHERE session_id IN (SELECT id FROM sessions WHERE user_id = ?)`,
			`DELETE FROM identities WHERE user_id = ?`,
		} {
			if _, err := tx.Exec(stmt, id); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(`DELETE FROM sessions WHERE user_id = ? AND expires_at <= ?`, id, at); err != nil {
			return err
		}
		if _, err := tx.Exec(`UPDATE sessions SET revoked_at = COALESCE(revoked_at, ?), facts = NULL WHERE user_id = ?`, at, id); err != nil {
			return err
		}
		_, err := tx.Exec(`DELETE FROM users WHERE id = ? AND NOT EXISTS (SELECT 1 FROM sessions WHERE user_id = ?)`, id, id)
		return err
	})
	return wrap("delete user", err)
}

// ListUserSessions returns no error and no sessions for an unknown user.
func (s *Store) ListUserSessions(ctx context.Context, userID string, now time.Time) ([]storage.Session, error) {
	rows, err := s.reads.QueryContext(ctx, `SELECT `+sessionColumns+` FROM sessions
		WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ? ORDER BY created_at DESC, id DESC`, userID, now.UnixMilli())
	sessions, err := collect(rows, err, scanSession)
	return sessions, wrap("list user sessions", err)
}

// RevokeTenantSessions revokes in batches of sweepBatch sessions, each its
// own transaction, for the reason DeleteExpired does: a tenant may hold
// more sessions than one write should hold the writer for. Every session
// live when the call starts is revoked by the time it returns.
func (s *Store) RevokeTenantSessions(ctx context.Context, tenantID string, now time.Time) (int64, error) {
	if now.IsZero() {
		return 0, wrap("revoke tenant sessions", errZeroNow)
	}
	at := millis(now)
	var total int64
	for more := true; more; {
		var n int64
		err := s.inTx(ctx, func(tx *wtx) (err error) {
			n, err = rowsAffected(tx.Exec(`UPDATE sessions SET revoked_at = ? WHERE rowid IN
				(SELECT rowid FROM sessions WHERE tenant_id = ? AND revoked_at IS NULL AND expires_at > ? LIMIT ?)`,
				at, tenantID, at, sweepBatch))
			return err
		})
		if err != nil {
			return total, wrap("revoke tenant sessions", err)
		}
		total += n
		more = n == sweepBatch
	}
	return total, nil
}
