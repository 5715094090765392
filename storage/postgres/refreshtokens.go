package postgres

import (
	"context"
	"errors"
	"time"

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

// rotateSQL is the whole rotation in one statement, so one round trip
// and no explicit transaction: old locks the token (FOR UPDATE waits for a
// concurrent rotation, then sees its result), upd marks it used only if it
// was unused and its session is not revoked, and ins inserts the successor
// only if upd did. A unique violation on the successor undoes all of it.
// It returns the token as it was, whether its session is revoked, and how
// many successors were inserted (1 when this call rotated).
const rotateSQL = `WITH old AS (
	SELECT ` + refreshTokenColumns + `, ` + sessionRevoked + ` AS revoked
	FROM refresh_tokens WHERE hash = $1 FOR UPDATE
), upd AS (
	UPDATE refresh_tokens SET used_at = $2, successor_hash = $3, successor_sealed = $4
	WHERE hash = $1 AND used_at IS NULL AND NOT (SELECT revoked FROM old)
	RETURNING 1
), ins AS (
	INSERT INTO refresh_tokens (` + refreshTokenColumns + `)
	SELECT $3, $5, $6::timestamptz, $7::timestamptz, $8::timestamptz, $9, $10::bytea
	WHERE EXISTS (SELECT 1 FROM upd)
	RETURNING 1
)
SELECT old.*, (SELECT count(*) FROM ins) FROM old`

// sessionRevoked is a column telling whether the token's session is revoked.
const sessionRevoked = `(SELECT revoked_at IS NOT NULL FROM sessions WHERE id = refresh_tokens.session_id)`

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
		var (
			revoked  bool
			inserted int64
		)
		var err error
		old, err = scanRefreshToken(s.pool.QueryRow(ctx, rotateSQL, hash, tstz(now), next.Hash, sealed,
			next.SessionID, tstz(next.CreatedAt), tstz(next.ExpiresAt), tstz(next.UsedAt),
			next.SuccessorHash, next.SuccessorSealed), &revoked, &inserted)
		switch {
		case err != nil:
			return err
		case revoked:
			return storage.ErrRevoked
		case !old.UsedAt.IsZero() || inserted != 1:
			return storage.ErrAlreadyUsed
		}
		return nil
	})
	switch {
	case errors.Is(err, storage.ErrAlreadyUsed):
		return old, wrap("rotate refresh token", err)
	case err != nil:
		return storage.RefreshToken{}, wrap("rotate refresh token", err)
	}
	return old, nil
}
