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

func (s *Store) CreateCode(ctx context.Context, c storage.AuthCode) error {
	err := s.do(ctx, opTimeout, func(ctx context.Context) error {
		_, err := s.pool.Exec(ctx, `INSERT INTO codes (`+codeColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			c.Hash, c.TenantID, c.RedirectURI, c.CodeChallenge, c.SessionID, c.UserID,
			c.Scope, c.Nonce, tstz(c.ExpiresAt), tstz(c.UsedAt))
		return err
	})
	return wrap("create code", err)
}

// RedeemCode marks the code used with one conditional UPDATE. Of several
// concurrent redemptions the first takes the row lock; the others wait for
// it, re-check "used_at IS NULL" against the committed row (READ
// COMMITTED) and match nothing. Only then is the row read to say why:
// "used" is checked before "expired", since a replay must be reported as
// such (RFC 6749 section 4.1.2: revoke what the code issued) even once the
// code has expired, for as long as DeleteExpired keeps it. A used code
// never becomes unused, so that read cannot contradict the UPDATE.
func (s *Store) RedeemCode(ctx context.Context, hash string, now time.Time) (storage.AuthCode, error) {
	if now.IsZero() {
		return storage.AuthCode{}, wrap("redeem code", errZeroNow)
	}
	var c storage.AuthCode
	err := s.do(ctx, opTimeout, func(ctx context.Context) error {
		var err error
		c, err = scanCode(s.pool.QueryRow(ctx,
			`UPDATE codes SET used_at = $2 WHERE hash = $1 AND used_at IS NULL AND expires_at > $2 RETURNING `+codeColumns,
			hash, tstz(now)))
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		c, err = scanCode(s.pool.QueryRow(ctx, `SELECT `+codeColumns+` FROM codes WHERE hash = $1`, hash))
		switch {
		case err != nil:
			return err
		case !c.UsedAt.IsZero():
			return storage.ErrAlreadyUsed
		}
		return storage.ErrNotFound // expired
	})
	switch {
	case errors.Is(err, storage.ErrAlreadyUsed):
		return c, wrap("redeem code", err)
	case err != nil:
		return storage.AuthCode{}, wrap("redeem code", err)
	}
	return c, nil
}
