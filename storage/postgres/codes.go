package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/socialbroker/broker/storage"
)

const codeColumns = `hash, tenant_id, redirect_uri, code_challenge, session_id, user_id, scope, nonce, expires_at, used_at`

func scanCode(row scanner) (storage.AuthCode, error) {
	var c storage.AuthCode
	err := row.Scan(&c.Hash, &c.TenantID, &c.RedirectURI, &c.CodeChallenge, &c.SessionID, &c.UserID,
		&c.Scope, &c.Nonce, (*tstz)(&c.ExpiresAt), (*tstz)(&c.UsedAt))
	return c, err
}

// GetCode returns the code whether used or expired.
func (s *Store) GetCode(ctx context.Context, hash string) (storage.AuthCode, error) {
	var c storage.AuthCode
	err := s.do(ctx, opTimeout, func(ctx context.Context) error {
		var err error
		c, err = scanCode(s.pool.QueryRow(ctx, `SELECT `+codeColumns+` FROM codes WHERE hash = $1`, hash))
		return err
	})
	return c, wrap("get code", err)
}

// redeemSQL redeems a code and starts its session's chain in one
// statement: code marks it used only if unused and unexpired, and ins
// inserts first, in the code's session, only if it did. A failed insert
// undoes both.
const redeemSQL = `WITH code AS (
	UPDATE codes SET used_at = $2 WHERE hash = $1 AND used_at IS NULL AND expires_at > $2
		AND NOT EXISTS (SELECT 1 FROM sessions WHERE sessions.id = codes.session_id AND sessions.revoked_at IS NOT NULL)
	RETURNING ` + codeColumns + `
), ins AS (
	INSERT INTO refresh_tokens (` + refreshTokenColumns + `)
	SELECT $3, code.session_id, $4::timestamptz, $5::timestamptz, $6::timestamptz, $7, $8::bytea FROM code
)
SELECT * FROM code`

// RedeemCode runs redeemSQL: one conditional UPDATE, and the insert. Of several
// concurrent redemptions the first takes the row lock; the others wait for
// it, re-check "used_at IS NULL" against the committed row (READ
// COMMITTED) and match nothing. Only then is the row read to say why:
// "used" is checked before "expired", since a replay must be reported as
// such (RFC 6749 section 4.1.2: revoke what the code issued) even once the
// code has expired, for as long as DeleteExpired keeps it. A used code
// never becomes unused, so that read cannot contradict the UPDATE.
func (s *Store) RedeemCode(ctx context.Context, hash string, now time.Time, first storage.RefreshToken) (storage.AuthCode, error) {
	if now.IsZero() {
		return storage.AuthCode{}, wrap("redeem code", errZeroNow)
	}
	var c storage.AuthCode
	err := s.do(ctx, opTimeout, func(ctx context.Context) error {
		var err error
		c, err = scanCode(s.pool.QueryRow(ctx, redeemSQL, hash, tstz(now),
			first.Hash, tstz(first.CreatedAt), tstz(first.ExpiresAt), tstz(first.UsedAt),
			first.SuccessorHash, first.SuccessorSealed))
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		c, err = scanCode(s.pool.QueryRow(ctx, `SELECT `+codeColumns+` FROM codes WHERE hash = $1`, hash))
		switch {
		case err != nil:
			return err
		case !c.UsedAt.IsZero():
			return storage.ErrAlreadyUsed
		case !c.ExpiresAt.After(now):
			return storage.ErrNotFound
		}
		// Unused and unexpired: its session was revoked.
		return storage.ErrRevoked
	})
	switch {
	case errors.Is(err, storage.ErrAlreadyUsed):
		return c, wrap("redeem code", err)
	case err != nil:
		return storage.AuthCode{}, wrap("redeem code", err)
	}
	return c, nil
}
