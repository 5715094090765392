package postgres

import (
	"context"
	"time"

	"github.com/socialbroker/broker/storage"
)

func (s *Store) CreateLoginState(ctx context.Context, ls storage.LoginState) error {
	err := s.do(ctx, opTimeout, func(ctx context.Context) error {
		_, err := s.pool.Exec(ctx, `INSERT INTO login_states (id, data, expires_at) VALUES ($1, $2, $3)`,
			ls.ID, ls.Data, tstz(ls.ExpiresAt))
		return err
	})
	return wrap("create login state", err)
}

// TakeLoginState deletes in the same statement that reads, so two
// callbacks racing with the same state cannot both get it: the second
// DELETE waits for the first's row lock and then finds no row. An expired
// state is deleted too: it is worth nothing to anyone.
func (s *Store) TakeLoginState(ctx context.Context, id string, now time.Time) (storage.LoginState, error) {
	if now.IsZero() {
		return storage.LoginState{}, wrap("take login state", errZeroNow)
	}
	ls := storage.LoginState{ID: id}
	err := s.do(ctx, opTimeout, func(ctx context.Context) error {
		return s.pool.QueryRow(ctx, `DELETE FROM login_states WHERE id = $1 RETURNING data, expires_at`, id).
			Scan(&ls.Data, (*tstz)(&ls.ExpiresAt))
	})
	if err == nil && expired(ls.ExpiresAt, now) {
		err = storage.ErrNotFound
	}
	if err != nil {
		return storage.LoginState{}, wrap("take login state", err)
	}
	return ls, nil
}
