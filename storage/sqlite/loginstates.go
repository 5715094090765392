package sqlite

import (
	"context"
	"time"

	"github.com/socialbroker/broker/storage"
)

func (s *Store) CreateLoginState(ctx context.Context, ls storage.LoginState) error {
	err := s.exec(ctx, `INSERT INTO login_states (id, data, expires_at) VALUES (?, ?, ?)`,
		ls.ID, ls.Data, millis(ls.ExpiresAt))
	return wrap("create login state", err)
}

// TakeLoginState deletes in the same statement that reads, so two
// callbacks racing with the same state cannot both get it. An expired state
// is deleted too: it is worth nothing to anyone.
func (s *Store) TakeLoginState(ctx context.Context, id string, now time.Time) (storage.LoginState, error) {
	if now.IsZero() {
		return storage.LoginState{}, wrap("take login state", errZeroNow)
	}
	ls := storage.LoginState{ID: id}
	err := s.inTx(ctx, func(tx *wtx) error {
		return tx.QueryRowContext(ctx, `DELETE FROM login_states WHERE id = ? RETURNING data, expires_at`, id).
			Scan(&ls.Data, (*millis)(&ls.ExpiresAt))
	})
	if err == nil && expired(ls.ExpiresAt, now) {
		err = storage.ErrNotFound
	}
	if err != nil {
		return storage.LoginState{}, wrap("take login state", err)
	}
	return ls, nil
}
