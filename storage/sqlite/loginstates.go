package sqlite

import (
	"context"
	"errors"
	"time"

	"github.com/socialbroker/broker/storage"
)

// UseLoginState is one write job of its own; CreateSession runs the same
// insert in its transaction.
func (s *Store) UseLoginState(ctx context.Context, id string, expiresAt time.Time) error {
	err := s.inTx(ctx, func(tx *wtx) error {
		return useLoginState(tx, storage.UsedLoginState{ID: id, ExpiresAt: expiresAt})
	})
	return wrap("use login state", err)
}

// useLoginState inserts the state's hash unless it is there already: of
// two callbacks racing with one state, the writer runs one insert first,
// and the other then inserts nothing, and fails without having written.
func useLoginState(tx *wtx, st storage.UsedLoginState) error {
	err := oneRow(tx.Exec(`INSERT INTO used_login_states (expires_at, id) VALUES (?, ?) ON CONFLICT DO NOTHING`,
		millis(st.ExpiresAt), st.ID))
	if errors.Is(err, storage.ErrNotFound) {
		return storage.ErrAlreadyUsed
	}
	return err
}
