package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/socialbroker/broker/storage"
)

const sessionColumns = `id, user_id, tenant_id, provider, scope, roles, facts, sso_id, nonce, auth_time, created_at, expires_at, revoked_at`

func scanSession(row scanner) (storage.Session, error) {
	var s storage.Session
	err := row.Scan(&s.ID, &s.UserID, &s.TenantID, &s.Provider, &s.Scope, &s.Roles, &s.Facts, &s.SSOID, &s.Nonce,
		(*tstz)(&s.AuthTime), (*tstz)(&s.CreatedAt), (*tstz)(&s.ExpiresAt), (*tstz)(&s.RevokedAt))
	if len(s.Roles) == 0 {
		s.Roles = nil
	}
	return s, err
}

// CreateSession checks the user, then sends the login state's record, the
// session and its codes as one batch, in one transaction, so they commit
// together or not at all. The state's insert has no ON CONFLICT: a
// replayed state must fail the whole batch. Of two batches racing with one
// state, the second waits for the first's row and then fails.
//
// A disabled or deleted user starts no session: the batch's first
// statement, userMayStart, reads the user FOR SHARE. It waits for a
// disabling under way (whose UPDATE users holds the row) and then reads
// its outcome, failing the batch; a disabling that comes after waits for
// this batch to commit, and its UPDATE sessions then revokes the session.
// Either way a sign-in racing a disabling leaves no live session. (The
// foreign key's own lock, FOR KEY SHARE, does not wait for that UPDATE.)
func (s *Store) CreateSession(ctx context.Context, in storage.NewSession) error {
	sess := in.Session
	err := s.do(ctx, opTimeout, func(ctx context.Context) error {
		b := &pgx.Batch{}
		b.Queue(userMayStart, sess.UserID)
		if st := in.LoginState; st.ID != "" {
			b.Queue(`INSERT INTO used_login_states (expires_at, id) VALUES ($1, $2)`, tstz(st.ExpiresAt), st.ID)
		}
		if in.SSO != nil {
			b.Queue(upsertSSOOrFail, ssoArgs(*in.SSO)...)
		}
		b.Queue(`INSERT INTO sessions (`+sessionColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			sess.ID, sess.UserID, sess.TenantID, sess.Provider, sess.Scope, roleList(sess.Roles), sess.Facts, sess.SSOID, sess.Nonce,
			tstz(sess.AuthTime), tstz(sess.CreatedAt), tstz(sess.ExpiresAt), tstz(sess.RevokedAt))
		for _, c := range in.Codes {
			b.Queue(`INSERT INTO codes (`+codeColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
				c.Hash, c.TenantID, c.RedirectURI, c.CodeChallenge, c.SessionID, c.UserID,
				c.Scope, c.Nonce, tstz(c.ExpiresAt), tstz(c.UsedAt))
		}
		br := s.pool.SendBatch(ctx, b)
		if _, err := br.Exec(); err != nil {
			br.Close()
			if ssoRevoked(err) { // the same division by zero, from userMayStart
				return storage.ErrUserDisabled
			}
			return err
		}
		return br.Close()
	})
	switch {
	case loginStateTaken(err):
		err = storage.ErrAlreadyUsed
	case ssoRevoked(err):
		err = storage.ErrRevoked
	}
	return wrap("create session", err)
}

// userMayStart fails with division_by_zero for a disabled or deleted user
// (see CreateSession); a batch cannot look at a result before the next
// statement runs.
const userMayStart = `SELECT 1 / (NOT (disabled OR deleted_at IS NOT NULL))::int FROM users WHERE id = $1 FOR SHARE`

// GetSession returns the session whether revoked or expired; judging that
// is the caller's.
func (s *Store) GetSession(ctx context.Context, id string) (storage.Session, error) {
	var sess storage.Session
	err := s.do(ctx, opTimeout, func(ctx context.Context) error {
		var err error
		sess, err = scanSession(s.pool.QueryRow(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = $1`, id))
		return err
	})
	return sess, wrap("get session", err)
}

// RevokeSession keeps the first revocation time: later ones (a replayed
// code, then a logout) must not make the session look revoked later.
func (s *Store) RevokeSession(ctx context.Context, id string, now time.Time) error {
	if now.IsZero() {
		return wrap("revoke session", errZeroNow)
	}
	err := s.do(ctx, opTimeout, func(ctx context.Context) error {
		return oneRow(s.pool.Exec(ctx,
			`UPDATE sessions SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2`, tstz(now), id))
	})
	return wrap("revoke session", err)
}

// ListRevokedSessions is served by the sessions_by_revocation index: its
// cost follows the revocations since since (replicas ask for the last
// access_ttl), not every revocation of a live session.
func (s *Store) ListRevokedSessions(ctx context.Context, since, now time.Time) ([]storage.RevokedSession, error) {
	var out []storage.RevokedSession
	err := s.do(ctx, opTimeout, func(ctx context.Context) error {
		rows, err := s.pool.Query(ctx,
			`SELECT id, revoked_at, expires_at FROM sessions WHERE revoked_at >= $1 AND expires_at > $2 ORDER BY revoked_at, id`,
			instant(since), instant(now)) // not tstz: a zero since (the first sync) must mean "all", not NULL
		if err != nil {
			return err
		}
		out, err = collect(rows, func(row scanner) (storage.RevokedSession, error) {
			var r storage.RevokedSession
			err := row.Scan(&r.ID, (*tstz)(&r.RevokedAt), (*tstz)(&r.ExpiresAt))
			return r, err
		})
		return err
	})
	return out, wrap("list revoked sessions", err)
}
