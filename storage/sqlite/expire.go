package sqlite

import (
	"context"
	"time"

	"github.com/socialbroker/broker/storage"
)

// sweepBatch bounds the rows one transaction of DeleteExpired removes. The
// writer is every write's one path: a sweep in one transaction held every
// sign-in and refresh behind it for as long as it ran (200,000 expired
// rows, a busy ten minutes' worth of login states and codes: 0.67 s).
// In batches, other writes go in between, each waiting one batch at most.
const sweepBatch = 1000

// DeleteExpired deletes in batches of sweepBatch rows, each its own
// transaction; a sweep cut short leaves the rest to the next one. A
// session's refresh tokens are deleted explicitly before it rather than
// left to ON DELETE CASCADE, whose rows RowsAffected would not count. Used
// refresh tokens otherwise stay until their session ends: a replay of any
// link of the chain must still be recognised as one.
func (s *Store) DeleteExpired(ctx context.Context, now time.Time) (int64, error) {
	at := now.UnixMilli()
	deletes := []struct {
		query  string
		before int64
	}{
		{`DELETE FROM used_login_states WHERE (expires_at, id) IN
			(SELECT expires_at, id FROM used_login_states WHERE expires_at <= ? LIMIT ?)`, at},
		{`DELETE FROM codes WHERE rowid IN (SELECT rowid FROM codes WHERE expires_at <= ? LIMIT ?)`,
			at - storage.CodeRetention.Milliseconds()},
		{`DELETE FROM refresh_tokens WHERE rowid IN (SELECT rowid FROM refresh_tokens
			WHERE session_id IN (SELECT id FROM sessions WHERE expires_at <= ?) LIMIT ?)`, at},
		{`DELETE FROM sessions WHERE rowid IN (SELECT rowid FROM sessions WHERE expires_at <= ? LIMIT ?)`, at},
		{`DELETE FROM signing_keys WHERE rowid IN (SELECT rowid FROM signing_keys WHERE expires_at <= ? LIMIT ?)`, at}, // NULL: never
	}
	var total int64
	for _, d := range deletes {
		for {
			var n int64
			err := s.inTx(ctx, func(tx *wtx) error {
				res, err := tx.Exec(d.query, d.before, sweepBatch)
				if err != nil {
					return err
				}
				n, err = res.RowsAffected()
				return err
			})
			if err != nil {
				return total, wrap("delete expired", err)
			}
			total += n
			if n < sweepBatch {
				break
			}
		}
	}
	return total, nil
}
