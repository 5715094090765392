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

// rotateSQL is the common case of a rotation in one statement, so one
// round trip and no explicit transaction: upd marks the token used only if
// it is unused, unexpired and its session not revoked, and ins inserts the successor
// only if upd did (PostgreSQL runs a data-modifying WITH to completion
// whether or not the query reads it); a unique violation on the successor
// undoes both. The UPDATE takes the row lock: of several concurrent
// rotations, the ones that waited for it re-check "used_at IS NULL"
// against the winner's row (READ COMMITTED) and match nothing. It returns
// the token's columns as they were (an unused token has no successor).
const rotateSQL = `WITH upd AS (
	UPDATE refresh_tokens SET used_at = $2, successor_hash = $3, successor_sealed = $4
	WHERE hash = $1 AND used_at IS NULL AND expires_at > $2 AND NOT ` + sessionRevoked + `
	RETURNING hash, session_id, created_at, expires_at
), ins AS (
	INSERT INTO refresh_tokens (` + refreshTokenColumns + `)
	SELECT $3, $5, $6::timestamptz, $7::timestamptz, $8::timestamptz, $9, $10::bytea FROM upd
)
SELECT upd.*, NULL::timestamptz, '', NULL::bytea FROM upd`

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

// RotateRefreshToken runs rotateSQL; only when it matches nothing is the
// token read, to say why (used, revoked, expired or unknown). A used token never
// becomes unused, so that read cannot contradict the UPDATE.
func (s *Store) RotateRefreshToken(ctx context.Context, hash string, next storage.RefreshToken, sealed []byte, now time.Time) (storage.RefreshToken, error) {
	if now.IsZero() {
		return storage.RefreshToken{}, wrap("rotate refresh token", errZeroNow)
	}
	var old storage.RefreshToken
	err := s.do(ctx, opTimeout, func(ctx context.Context) error {
		var err error
		old, err = scanRefreshToken(s.pool.QueryRow(ctx, rotateSQL, hash, tstz(now), next.Hash, sealed,
			next.SessionID, tstz(next.CreatedAt), tstz(next.ExpiresAt), tstz(next.UsedAt),
			next.SuccessorHash, next.SuccessorSealed))
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		var revoked bool
		old, err = scanRefreshToken(s.pool.QueryRow(ctx,
			`SELECT `+refreshTokenColumns+`, `+sessionRevoked+` FROM refresh_tokens WHERE hash = $1`, hash), &revoked)
		switch {
		case err != nil:
			return err
		case revoked:
			return storage.ErrRevoked
		case old.UsedAt.IsZero():
			return storage.ErrExpired
		}
		return storage.ErrAlreadyUsed
	})
	switch {
	case errors.Is(err, storage.ErrAlreadyUsed):
		return old, wrap("rotate refresh token", err)
	case err != nil:
		return storage.RefreshToken{}, wrap("rotate refresh token", err)
	}
	return old, nil
}

// ReplaceSuccessor runs in a transaction of three statements: it is the
// rare answer to a rotation whose answer was lost, so clarity wins over
// round trips. The successor's UPDATE takes its row lock: of concurrent
// calls, the ones that waited re-check "used_at IS NULL" against the
// winner's row (READ COMMITTED) and match nothing.
func (s *Store) ReplaceSuccessor(ctx context.Context, hash, successor string, next storage.RefreshToken, sealed []byte, now time.Time) error {
	if now.IsZero() {
		return wrap("replace successor", errZeroNow)
	}
	err := s.do(ctx, opTimeout, func(ctx context.Context) error {
		return s.inTx(ctx, func(tx pgx.Tx) error {
			tag, err := tx.Exec(ctx,
				`UPDATE refresh_tokens SET used_at = $1
				WHERE hash = $2 AND used_at IS NULL AND expires_at > $1 AND NOT `+sessionRevoked+`
				AND EXISTS (SELECT 1 FROM refresh_tokens AS p WHERE p.hash = $3 AND p.successor_hash = refresh_tokens.hash)`,
				tstz(now), successor, hash)
			switch {
			case err != nil:
				return err
			case tag.RowsAffected() == 0:
				return whyNotReplaced(ctx, tx, hash, successor)
			}
			if _, err := tx.Exec(ctx, `UPDATE refresh_tokens SET successor_hash = $1, successor_sealed = $2 WHERE hash = $3`,
				next.Hash, sealed, hash); err != nil {
				return err
			}
			_, err = tx.Exec(ctx, `INSERT INTO refresh_tokens (`+refreshTokenColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
				next.Hash, next.SessionID, tstz(next.CreatedAt), tstz(next.ExpiresAt), tstz(next.UsedAt), next.SuccessorHash, next.SuccessorSealed)
			return err
		})
	})
	return wrap("replace successor", err)
}

// whyNotReplaced names the reason ReplaceSuccessor changed nothing.
func whyNotReplaced(ctx context.Context, tx pgx.Tx, hash, successor string) error {
	var next string
	if err := tx.QueryRow(ctx, `SELECT successor_hash FROM refresh_tokens WHERE hash = $1`, hash).Scan(&next); err != nil {
		return err // pgx.ErrNoRows: the token is unknown
	}
	if next != successor {
		return storage.ErrAlreadyUsed
	}
	var revoked bool
	succ, err := scanRefreshToken(tx.QueryRow(ctx,
		`SELECT `+refreshTokenColumns+`, `+sessionRevoked+` FROM refresh_tokens WHERE hash = $1`, successor), &revoked)
	if err != nil {
		return err
	}
	return storage.ReplaceRefusal(succ, revoked)
}
