package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/socialbroker/broker/storage"
)

// ListUsers names in its query only the filters q sets (see ListAudit).
// Deleted users are never listed.
func (s *Store) ListUsers(ctx context.Context, q storage.UserQuery) ([]storage.User, error) {
	query := `SELECT ` + userColumns + ` FROM users WHERE deleted_at IS NULL AND id > $1`
	args := []any{q.After}
	if q.Email != "" {
		args = append(args, q.Email)
		query += fmt.Sprintf(` AND id IN (SELECT id FROM users WHERE email = $%[1]d UNION SELECT user_id FROM identities WHERE email = $%[1]d)`, len(args))
	}
	if q.Tenant != "" {
		args = append(args, q.Tenant)
		query += fmt.Sprintf(` AND id IN (SELECT user_id FROM sessions WHERE tenant_id = $%d)`, len(args))
	}
	args = append(args, sqlLimit(q.Limit))
	query += fmt.Sprintf(` ORDER BY id LIMIT $%d`, len(args))
	users, err := queryAll(ctx, s, scanUser, query, args...)
	return users, wrap("list users", err)
}

// SetUserDisabled leaves UpdatedAt alone: it dates the profile, which
// disabling does not change.
func (s *Store) SetUserDisabled(ctx context.Context, id string, disabled bool, now time.Time) error {
	if now.IsZero() {
		return wrap("set user disabled", errZeroNow)
	}
	err := s.do(ctx, opTimeout, func(ctx context.Context) error {
		return s.inTx(ctx, func(tx pgx.Tx) error {
			if err := oneRow(tx.Exec(ctx, `UPDATE users SET disabled = $1 WHERE id = $2 AND deleted_at IS NULL`, disabled, id)); err != nil {
				return err
			}
			if !disabled {
				return nil
			}
			if _, err := tx.Exec(ctx, `UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL`, tstz(now), id); err != nil {
				return err
			}
			// Its broker sessions end too: re-enabled, the user signs in
			// again, rather than any browser that held a session being
			// signed back in silently.
			_, err := tx.Exec(ctx, `UPDATE sso_sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL`, tstz(now), id)
			return err
		})
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
//
// It locks the user's row FOR UPDATE first. That lock conflicts with the
// FOR KEY SHARE one that AddIdentity takes, so an identity added at the
// same moment is either in place before (and deleted here) or refused
// after (it finds the tombstone).
func (s *Store) DeleteUser(ctx context.Context, id string, now time.Time) error {
	if now.IsZero() {
		return wrap("delete user", errZeroNow)
	}
	err := s.do(ctx, opTimeout, func(ctx context.Context) error {
		return s.inTx(ctx, func(tx pgx.Tx) error {
			var one int
			if err := tx.QueryRow(ctx, `SELECT 1 FROM users WHERE id = $1 AND deleted_at IS NULL FOR UPDATE`, id).Scan(&one); err != nil {
				return err
			}
			b := &pgx.Batch{}
			b.Queue(`DELETE FROM refresh_tokens WHERE session_id IN (SELECT id FROM sessions WHERE user_id = $1)`, id)
			b.Queue(`DELETE FROM identities WHERE user_id = $1`, id)
			b.Queue(`DELETE FROM sessions WHERE user_id = $1 AND expires_at <= $2`, id, tstz(now))
			b.Queue(`UPDATE sessions SET revoked_at = COALESCE(revoked_at, $2), facts = NULL WHERE user_id = $1`, id, tstz(now))
			b.Queue(`UPDATE users SET name = '', email = '', email_verified = false, picture = '', username = '',
				disabled = false, updated_at = $2, deleted_at = $2 WHERE id = $1`, id, tstz(now))
			b.Queue(`DELETE FROM users WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM sessions WHERE user_id = $1)`, id)
			return tx.SendBatch(ctx, b).Close()
		})
	})
	return wrap("delete user", err)
}

// ListUserSessions returns no error and no sessions for an unknown user.
func (s *Store) ListUserSessions(ctx context.Context, userID string, now time.Time) ([]storage.Session, error) {
	sessions, err := queryAll(ctx, s, scanSession, `SELECT `+sessionColumns+` FROM sessions
		WHERE user_id = $1 AND revoked_at IS NULL AND expires_at > $2 ORDER BY created_at DESC, id DESC`, userID, instant(now))
	return sessions, wrap("list user sessions", err)
}

// RevokeTenantSessions is one statement: PostgreSQL's writers do not wait
// for each other but for the rows they share, and only this tenant's
// sessions are locked.
func (s *Store) RevokeTenantSessions(ctx context.Context, tenantID string, now time.Time) (int64, error) {
	if now.IsZero() {
		return 0, wrap("revoke tenant sessions", errZeroNow)
	}
	var n int64
	err := s.do(ctx, opTimeout, func(ctx context.Context) error {
		tag, err := s.pool.Exec(ctx, `UPDATE sessions SET revoked_at = $1
			WHERE tenant_id = $2 AND revoked_at IS NULL AND expires_at > $1`, tstz(now), tenantID)
		n = tag.RowsAffected()
		return err
	})
	return n, wrap("revoke tenant sessions", err)
}
