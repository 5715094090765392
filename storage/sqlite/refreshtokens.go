package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/socialbroker/broker/storage"
)

const refreshTokenColumns = `hash, session_id, created_at, expires_at, used_at, successor_hash, successor_sealed`

// scanRefreshToken reads refreshTokenColumns, then any extra columns into extra.
func scanRefreshToken(row scanner, extra ...any) (storage.RefreshToken, error) {
	var t storage.RefreshToken
	dest := append([]any{&t.Hash, &t.SessionID, (*millis)(&t.CreatedAt), (*millis)(&t.ExpiresAt),
		(*millis)(&t.UsedAt), &t.SuccessorHash, &t.SuccessorSealed}, extra...)
	return t, row.Scan(dest...)
}

// sessionRevoked is a column telling whether the token's session is revoked.
const sessionRevoked = `(SELECT revoked_at IS NOT NULL FROM sessions WHERE id = refresh_tokens.session_id)`

func insertRefreshToken(db *wtx, t storage.RefreshToken) error {
	_, err := db.Exec(`INSERT INTO refresh_tokens (`+refreshTokenColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		t.Hash, t.SessionID, millis(t.CreatedAt), millis(t.ExpiresAt), millis(t.UsedAt), t.SuccessorHash, t.SuccessorSealed)
	return err
}

// GetRefreshToken reads from the read pool.
func (s *Store) GetRefreshToken(ctx context.Context, hash string) (storage.RefreshToken, error) {
	t, err := scanRefreshToken(s.reads.QueryRowContext(ctx,
		`SELECT `+refreshTokenColumns+` FROM refresh_tokens WHERE hash = ?`, hash))
	return t, wrap("get refresh token", err)
}

// RotateRefreshToken runs under the write lock BEGIN IMMEDIATE takes, which
// is what makes exactly one of several concurrent rotations of the same
// token win: the others wait for the lock and then find the token used,
// with the winner's successor. The common case is two statements: the
// UPDATE that marks the token used only if it is unused, unexpired and
// its session is not revoked, and the successor's INSERT. Only when the UPDATE
// matches nothing is the token read, to say why.
func (s *Store) RotateRefreshToken(ctx context.Context, hash string, next storage.RefreshToken, sealed []byte, now time.Time) (storage.RefreshToken, error) {
	if now.IsZero() {
		return storage.RefreshToken{}, wrap("rotate refresh token", errZeroNow)
	}
	var old storage.RefreshToken
	err := s.inTx(ctx, func(tx *wtx) error {
		// The token as it was is unused, so without a successor: only
		// what the update does not know comes back.
		old = storage.RefreshToken{Hash: hash}
		err := tx.QueryRow(
			`UPDATE refresh_tokens SET used_at = ?, successor_hash = ?, successor_sealed = ?
			WHERE hash = ? AND used_at IS NULL AND expires_at > ? AND NOT `+sessionRevoked+`
			RETURNING session_id, created_at, expires_at`, millis(now), next.Hash, sealed, hash, millis(now),
		).Scan(&old.SessionID, (*millis)(&old.CreatedAt), (*millis)(&old.ExpiresAt))
		switch {
		case err == nil:
			return insertRefreshToken(tx, next)
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		var revoked bool
		old, err = scanRefreshToken(tx.QueryRow(
			`SELECT `+refreshTokenColumns+`, `+sessionRevoked+` FROM refresh_tokens WHERE hash = ?`, hash), &revoked)
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

// ReplaceSuccessor is one write job of three statements; a refusal reads
// both tokens to say why, and undoes nothing because nothing was written.
func (s *Store) ReplaceSuccessor(ctx context.Context, hash, successor string, next storage.RefreshToken, sealed []byte, now time.Time) error {
	if now.IsZero() {
		return wrap("replace successor", errZeroNow)
	}
	err := s.inTx(ctx, func(tx *wtx) error {
		n, err := rowsAffected(tx.Exec(
			`UPDATE refresh_tokens SET used_at = ?
			WHERE hash = ? AND used_at IS NULL AND expires_at > ? AND NOT `+sessionRevoked+`
			AND EXISTS (SELECT 1 FROM refresh_tokens AS p WHERE p.hash = ? AND p.successor_hash = refresh_tokens.hash)`,
			millis(now), successor, millis(now), hash))
		switch {
		case err != nil:
			return err
		case n == 0:
			return whyNotReplaced(tx, hash, successor)
		}
		if _, err := tx.Exec(`UPDATE refresh_tokens SET successor_hash = ?, successor_sealed = ? WHERE hash = ?`,
			next.Hash, sealed, hash); err != nil {
			return err
		}
		return insertRefreshToken(tx, next)
	})
	return wrap("replace successor", err)
}

// whyNotReplaced names the reason ReplaceSuccessor changed nothing.
func whyNotReplaced(tx *wtx, hash, successor string) error {
	var next string
	if err := tx.QueryRow(`SELECT successor_hash FROM refresh_tokens WHERE hash = ?`, hash).Scan(&next); err != nil {
		return err // sql.ErrNoRows: the token is unknown
	}
	if next != successor {
		return storage.ErrAlreadyUsed
	}
	var revoked bool
	succ, err := scanRefreshToken(tx.QueryRow(
		`SELECT `+refreshTokenColumns+`, `+sessionRevoked+` FROM refresh_tokens WHERE hash = ?`, successor), &revoked)
	if err != nil {
		return err
	}
	return storage.ReplaceRefusal(succ, revoked)
}
