package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/socialbroker/broker/storage"
)

// DeleteExpired runs its deletes in one transaction so the count it returns
// describes one consistent sweep. A session's refresh tokens are deleted
// explicitly before it rather than left to ON DELETE CASCADE, whose rows
// the command tag would not count. Used refresh tokens otherwise stay
// until their session ends: a replay of any link of the chain must still
// be recognised as one.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time) (int64, error) {
	deletes := []struct {
		query  string
		before time.Time
	}{
		{`DELETE FROM used_login_states WHERE expires_at <= $1`, now},
		{`DELETE FROM codes WHERE expires_at <= $1`, now.Add(-storage.CodeRetention)},
		{`DELETE FROM refresh_tokens WHERE session_id IN (SELECT id FROM sessions WHERE expires_at <= $1)`, now},
		{`DELETE FROM sessions WHERE expires_at <= $1`, now},
		// Deleted users' tombstones, once the last of their sessions is gone.
		{`DELETE FROM users WHERE deleted_at <= $1 AND NOT EXISTS (SELECT 1 FROM sessions WHERE user_id = users.id)`, now},
		{`DELETE FROM signing_keys WHERE expires_at <= $1`, now}, // NULL: never
	}
	var total int64
	err := s.do(ctx, sweepTimeout, func(ctx context.Context) error {
		return s.inTx(ctx, func(tx pgx.Tx) error {
			total = 0
			for _, d := range deletes {
				tag, err := tx.Exec(ctx, d.query, instant(d.before))
				if err != nil {
					return err
				}
				total += tag.RowsAffected()
			}
			return nil
		})
	})
	if err != nil {
		return 0, wrap("delete expired", err)
	}
	return total, nil
}
