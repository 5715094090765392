package sqlite

import (
	"context"
	"errors"
	"time"

	"github.com/socialbroker/broker/storage"
)

// UseLoginState inserts the state's hash unless it is there already: of
// two callbacks racing with one state, the writer runs one insert first,
// and the other then inserts nothing.
func (s *Store) UseLoginState(ctx context.Context, id string, expiresAt time.Time) error {
	err := s.execOne(ctx, `INSERT INTO used_login_states (expires_at, id) VALUES (?, ?) ON CONFLICT DO NOTHING`,
		millis(expiresAt), id)
	if errors.Is(err, storage.ErrNotFound) {
		err = storage.ErrAlreadyUsed
	}
	return wrap("use login state", err)
}
