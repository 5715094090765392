package sqlite

import (
	"context"
	"errors"
	"time"

	"github.com/socialbroker/broker/storage"
)

const codeColumns = `hash, tenant_id, redirect_uri, code_challenge, session_id, user_id, scope, nonce, expires_at, used_at`

func scanCode(row scanner) (storage.AuthCode, error) {
	var c storage.AuthCode
	err := row.Scan(&c.Hash, &c.TenantID, &c.RedirectURI, &c.CodeChallenge, &c.SessionID, &c.UserID,
		&c.Scope, &c.Nonce, (*millis)(&c.ExpiresAt), (*millis)(&c.UsedAt))
	return c, err
}

func insertCode(tx *wtx, c storage.AuthCode) error {
	_, err := tx.Exec(`INSERT INTO codes (`+codeColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.Hash, c.TenantID, c.RedirectURI, c.CodeChallenge, c.SessionID, c.UserID,
		c.Scope, c.Nonce, millis(c.ExpiresAt), millis(c.UsedAt))
	return err
}

// GetCode reads from the read pool.
func (s *Store) GetCode(ctx context.Context, hash string) (storage.AuthCode, error) {
	c, err := scanCode(s.reads.QueryRowContext(ctx, `SELECT `+codeColumns+` FROM codes WHERE hash = ?`, hash))
	return c, wrap("get code", err)
}

// RedeemCode checks "used" before "expired": a replay must be reported as
// such (RFC 6749 section 4.1.2: revoke what the code issued) even once the
// code has expired, for as long as DeleteExpired keeps it.
func (s *Store) RedeemCode(ctx context.Context, hash string, now time.Time, first storage.RefreshToken) (storage.AuthCode, error) {
	if now.IsZero() {
		return storage.AuthCode{}, wrap("redeem code", errZeroNow)
	}
	var c storage.AuthCode
	err := s.inTx(ctx, func(tx *wtx) error {
		var err error
		c, err = scanCode(tx.QueryRow(`SELECT `+codeColumns+` FROM codes WHERE hash = ?`, hash))
		switch {
		case err != nil:
			return err
		case !c.UsedAt.IsZero():
			return storage.ErrAlreadyUsed
		case expired(c.ExpiresAt, now):
			return storage.ErrNotFound
		}
		// A session revoked since the caller read it (a disabled user, a
		// logout, another replica's view lagging) gets no first token.
		var revoked bool
		if err := tx.QueryRow(`SELECT revoked_at IS NOT NULL FROM sessions WHERE id = ?`, c.SessionID).Scan(&revoked); err != nil {
			return err
		}
		if revoked {
			return storage.ErrRevoked
		}
		c.UsedAt = stored(now)
		if _, err = tx.Exec(`UPDATE codes SET used_at = ? WHERE hash = ?`, millis(now), hash); err != nil {
			return err
		}
		first.SessionID = c.SessionID
		return insertRefreshToken(tx, first)
	})
	switch {
	case errors.Is(err, storage.ErrAlreadyUsed):
		return c, wrap("redeem code", err)
	case err != nil:
		return storage.AuthCode{}, wrap("redeem code", err)
	}
	return c, nil
}
