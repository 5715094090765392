package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/socialbroker/broker/storage"
)

const sessionColumns = `id, user_id, tenant_id, provider, scope, roles, facts, sso_id, nonce, auth_time, created_at, expires_at, revoked_at`

func scanSession(row scanner) (storage.Session, error) {
	var s storage.Session
	err := row.Scan(&s.ID, &s.UserID, &s.TenantID, &s.Provider, &s.Scope, (*roles)(&s.Roles), &s.Facts, &s.SSOID, &s.Nonce,
		(*millis)(&s.AuthTime), (*millis)(&s.CreatedAt), (*millis)(&s.ExpiresAt), (*millis)(&s.RevokedAt))
	return s, err
}

// CreateSession is one write job: the login state's record, the session
// and its codes commit together or not at all. The state goes first: a
// replayed one fails before anything is written.
func (s *Store) CreateSession(ctx context.Context, in storage.NewSession) error {
	sess := in.Session
	err := s.inTx(ctx, func(tx *wtx) error {
		// A disabled or deleted user starts no session. Writes are one at
		// a time, so a disabling is wholly before this check or after this
		// insert (and then revokes it): a sign-in racing it cannot leave a
		// live session behind.
		var refused bool
		err := tx.QueryRow(`SELECT disabled OR deleted_at IS NOT NULL FROM users WHERE id = ?`, sess.UserID).Scan(&refused)
		switch {
		case err == nil && refused:
			return storage.ErrUserDisabled
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return err
		}
		if in.LoginState.ID != "" {
			if err := useLoginState(tx, in.LoginState); err != nil {
				return err
			}
		}
		if in.SSO != nil {
			if err := putSSO(tx, *in.SSO); err != nil {
				return err
			}
		}
		if err := insertSession(tx, sess); err != nil {
			return err
		}
		for _, c := range in.Codes {
			if err := insertCode(tx, c); err != nil {
				return err
			}
		}
		return nil
	})
	return wrap("create session", err)
}

func insertSession(tx *wtx, sess storage.Session) error {
	_, err := tx.Exec(`INSERT INTO sessions (`+sessionColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		sess.ID, sess.UserID, sess.TenantID, sess.Provider, sess.Scope, roles(sess.Roles), sess.Facts, sess.SSOID, sess.Nonce,
		millis(sess.AuthTime), millis(sess.CreatedAt), millis(sess.ExpiresAt), millis(sess.RevokedAt))
	return err
}

// GetSession returns the session whether revoked or expired; judging that
// is the caller's.
func (s *Store) GetSession(ctx context.Context, id string) (storage.Session, error) {
	sess, err := scanSession(s.reads.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = ?`, id))
	return sess, wrap("get session", err)
}

// RevokeSession keeps the first revocation time: later ones (a replayed
// code, then a logout) must not make the session look revoked later.
func (s *Store) RevokeSession(ctx context.Context, id string, now time.Time) error {
	if now.IsZero() {
		return wrap("revoke session", errZeroNow)
	}
	err := s.execOne(ctx,
		`UPDATE sessions SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`, millis(now), id)
	return wrap("revoke session", err)
}

// listRevoked is served by the sessions_by_revocation index: its cost
// follows the revocations since since (replicas ask for the last
// access_ttl), not every revocation of a live session.
const listRevoked = `SELECT id, revoked_at, expires_at FROM sessions WHERE revoked_at >= ? AND expires_at > ? ORDER BY revoked_at`

// ListRevokedSessions runs listRevoked.
func (s *Store) ListRevokedSessions(ctx context.Context, since, now time.Time) ([]storage.RevokedSession, error) {
	rows, err := s.reads.QueryContext(ctx, listRevoked,
		since.UnixMilli(), now.UnixMilli()) // not millis: a zero since (the first sync) must mean "all", not NULL
	if err != nil {
		return nil, wrap("list revoked sessions", err)
	}
	defer rows.Close()
	var out []storage.RevokedSession
	for rows.Next() {
		var r storage.RevokedSession
		if err := rows.Scan(&r.ID, (*millis)(&r.RevokedAt), (*millis)(&r.ExpiresAt)); err != nil {
			return nil, wrap("list revoked sessions", err)
		}
		out = append(out, r)
	}
	return out, wrap("list revoked sessions", rows.Err())
}
