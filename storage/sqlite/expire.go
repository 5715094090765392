package sqlite

import (
	"context"
	"time"

	"github.com/socialbroker/broker/storage"
)

// sweepBatch bounds the rows of one table one transaction of DeleteExpired
// removes. The writer is every write's one path: a sweep in one
// transaction held every sign-in and refresh behind it for as long as it
// ran (200,000 expired rows, a busy ten minutes' worth of login states and
// codes: 0.67 s). In batches, other writes go in between, each waiting one
// batch at most.
const sweepBatch = 1000

// sweepStep is one batch of a sweep, run in a transaction of its own: the
// rows it removed, and whether another batch may find more.
type sweepStep func(tx *wtx) (removed int64, more bool, err error)

// DeleteExpired deletes in batches of at most sweepBatch rows a table,
// each its own transaction; a sweep cut short leaves the rest to the next
// one. Every batch finds its rows through an expiry index, where the rows
// deleted before are gone: no batch scans what an earlier one removed (but
// the signing keys', a handful of rows, scanned whole).
func (s *Store) DeleteExpired(ctx context.Context, now time.Time) (int64, error) {
	at := now.UnixMilli()
	steps := []sweepStep{
		upTo(`DELETE FROM used_login_states WHERE (expires_at, id) IN
			(SELECT expires_at, id FROM used_login_states WHERE expires_at <= ? LIMIT ?)`, at),
		upTo(`DELETE FROM codes WHERE rowid IN (SELECT rowid FROM codes WHERE expires_at <= ? LIMIT ?)`,
			at-storage.CodeRetention.Milliseconds()),
		endSessions(at),
		// Deleted users' tombstones, once the last of their sessions is gone.
		upTo(`DELETE FROM users WHERE rowid IN (SELECT rowid FROM users WHERE deleted_at <= ?
			AND NOT EXISTS (SELECT 1 FROM sessions WHERE user_id = users.id) LIMIT ?)`, at),
		upTo(`DELETE FROM sso_sessions WHERE rowid IN (SELECT rowid FROM sso_sessions WHERE expires_at <= ? LIMIT ?)`, at),
		upTo(`DELETE FROM signing_keys WHERE rowid IN (SELECT rowid FROM signing_keys WHERE expires_at <= ? LIMIT ?)`, at), // NULL: never
	}
	total, err := s.sweep(ctx, steps...)
	return total, wrap("delete expired", err)
}

// sweep runs each step, one transaction a batch, until it finds no more.
func (s *Store) sweep(ctx context.Context, steps ...sweepStep) (int64, error) {
	var total int64
	for _, step := range steps {
		for more := true; more; {
			var n int64
			err := s.inTx(ctx, func(tx *wtx) (err error) {
				n, more, err = step(tx)
				return err
			})
			if err != nil {
				return total, err
			}
			total += n
		}
	}
	return total, nil
}

// upTo is a step of one DELETE whose last two parameters are before and
// the batch's size.
func upTo(query string, before int64) sweepStep {
	return func(tx *wtx) (int64, bool, error) {
		n, err := rowsAffected(tx.Exec(query, before, sweepBatch))
		return n, n == sweepBatch, err
	}
}

// endSessions is the step that deletes sessions past their end with their
// refresh tokens, the oldest sessions first. A session's tokens go before
// it, explicitly rather than by ON DELETE CASCADE, whose rows RowsAffected
// would not count and no batch would bound (a long session holds a token
// per rotation); the sessions go in the batch that deletes the last of
// their tokens. Used refresh tokens otherwise stay until their session
// ends: a replay of any link of the chain must still be recognised as one.
func endSessions(at int64) sweepStep {
	const oldest = `SELECT id FROM sessions WHERE expires_at <= ? ORDER BY expires_at LIMIT ?`
	return func(tx *wtx) (int64, bool, error) {
		tokens, err := rowsAffected(tx.Exec(`DELETE FROM refresh_tokens WHERE rowid IN
			(SELECT rowid FROM refresh_tokens WHERE session_id IN (`+oldest+`) LIMIT ?)`, at, sweepBatch, sweepBatch))
		if err != nil || tokens == sweepBatch {
			return tokens, true, err
		}
		sessions, err := rowsAffected(tx.Exec(`DELETE FROM sessions WHERE id IN (`+oldest+`)`, at, sweepBatch))
		return tokens + sessions, sessions == sweepBatch, err
	}
}
