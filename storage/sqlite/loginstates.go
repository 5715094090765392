package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/socialbroker/broker/storage"
)

// CheckLoginState reads the record (expires_at, id), the table's key.
func (s *Store) CheckLoginState(ctx context.Context, id string, expiresAt time.Time) error {
	var one int
	err := s.reads.QueryRowContext(ctx, `SELECT 1 FROM used_login_states WHERE expires_at = ? AND id = ?`,
		millis(expiresAt), id).Scan(&one)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err == nil:
		return storage.ErrAlreadyUsed
	}
	return wrap("check login state", err)
}

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
