package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/socialbroker/broker/storage"
)

const refreshTokenColumns = `hash, session_id, created_at, expires_at, used_at, successor_hash, successor_sealed`

// scanRefreshToken reads refreshTokenColumns, then any extra columns into extra.
func scanRefreshToken(row scanner, extra ...any) (storage.RefreshToken, error) {
	var t storage.RefreshToken
	dest := append([]any{&t.Hash, &t.SessionID, (*tstz)(&t.CreatedAt), (*tstz)(&t.ExpiresAt),
		(*tstz)(&t.UsedAt), &t.SuccessorHash, &t.SuccessorSealed}, extra...)
	return t, row.Scan(dest...)
}

// sessionRevoked is a column telling whether the token's session is revoked.
const sessionRevoked = `(SELECT revoked_at IS NOT NULL FROM sessions WHERE id = refresh_tokens.session_id)`

func insertRefreshToken(ctx context.Context, db execer, t storage.RefreshToken) error {
	_, err := db.Exec(ctx, `INSERT INTO refresh_tokens (`+refreshTokenColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		t.Hash, t.SessionID, tstz(t.CreatedAt), tstz(t.ExpiresAt), tstz(t.UsedAt), t.SuccessorHash, t.SuccessorSealed)
	return err
}

// CreateRefreshToken returns storage.ErrNotFound if t.SessionID names no
// session.
func (s *Store) CreateRefreshToken(ctx context.Context, t storage.RefreshToken) error {
	err := s.do(ctx, opTimeout, func(ctx context.Context) error {
		return insertRefreshToken(ctx, s.pool, t)
	})
	return wrap("create refresh token", err)
}

func (s *Store) GetRefreshToken(ctx context.Context, hash string) (storage.RefreshToken, error) {
	var t storage.RefreshToken
	err := s.do(ctx, opTimeout, func(ctx context.Context) error {
		var err error
		t, err = scanRefreshToken(s.pool.QueryRow(ctx,
			`SELECT `+refreshTokenColumns+` FROM refresh_tokens WHERE hash = $1`, hash))
		return err
	})
	return t, wrap("get refresh token", err)
}

// RotateRefreshToken reads the token with SELECT ... FOR UPDATE, which is
// what makes exactly one of several concurrent rotations of the same token
// win: the others wait for the row lock and then, under READ COMMITTED,
// read the row as the winner committed it, used and with its successor.
// If next cannot be inserted the transaction rolls back and the token
// stays live.
func (s *Store) RotateRefreshToken(ctx context.Context, hash string, next storage.RefreshToken, sealed []byte, now time.Time) (storage.RefreshToken, error) {
	if now.IsZero() {
		return storage.RefreshToken{}, wrap("rotate refresh token", errZeroNow)
	}
	var old storage.RefreshToken
	err := s.do(ctx, opTimeout, func(ctx context.Context) error {
		return s.inTx(ctx, func(tx pgx.Tx) error {
			var err error
			var revoked bool
			old, err = scanRefreshToken(tx.QueryRow(ctx,
				`SELECT `+refreshTokenColumns+`, `+sessionRevoked+` FROM refresh_tokens WHERE hash = $1 FOR UPDATE`, hash), &revoked)
			switch {
			case err != nil:
				return err
			case revoked:
				return storage.ErrRevoked
			case !old.UsedAt.IsZero():
				return storage.ErrAlreadyUsed
			}
			if err := insertRefreshToken(ctx, tx, next); err != nil {
				return err
			}
			_, err = tx.Exec(ctx,
				`UPDATE refresh_tokens SET used_at = $1, successor_hash = $2, successor_sealed = $3 WHERE hash = $4`,
				tstz(now), next.Hash, sealed, hash)
			return err
		})
	})
	switch {
	case errors.Is(err, storage.ErrAlreadyUsed):
		return old, wrap("rotate refresh token", err)
	case err != nil:
		return storage.RefreshToken{}, wrap("rotate refresh token", err)
	}
	return old, nil
}
