package sqlite

import (
	"context"
	"time"

	"github.com/socialbroker/broker/storage"
)

// DeleteExpired runs its deletes in one transaction so the count it returns
// describes one consistent sweep. A session's refresh tokens are deleted
// explicitly before it rather than left to ON DELETE CASCADE, whose rows
// RowsAffected would not count. Used refresh tokens otherwise stay until
// their session ends: a replay of any link of the chain must still be
// recognised as one.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time) (int64, error) {
	at := now.UnixMilli()
	deletes := []struct {
		query  string
		before int64
	}{
		{`DELETE FROM used_login_states WHERE expires_at <= ?`, at},
		{`DELETE FROM codes WHERE expires_at <= ?`, at - storage.CodeRetention.Milliseconds()},
		{`DELETE FROM refresh_tokens WHERE session_id IN (SELECT id FROM sessions WHERE expires_at <= ?)`, at},
		{`DELETE FROM sessions WHERE expires_at <= ?`, at},
		{`DELETE FROM signing_keys WHERE expires_at <= ?`, at}, // NULL: never
	}
	var total int64
	err := s.inTx(ctx, func(tx *wtx) error {
		total = 0
		for _, d := range deletes {
			res, err := tx.Exec(d.query, d.before)
			if err != nil {
				return err
			}
			n, err := res.RowsAffected()
			if err != nil {
				return err
			}
			total += n
		}
		return nil
	})
	if err != nil {
		return 0, wrap("delete expired", err)
	}
	return total, nil
}
