package sqlite

import (
	"context"
	"time"
)

// Secret stores value under name unless a secret is there already, and
// reads back whichever is, in one transaction.
func (s *Store) Secret(ctx context.Context, name string, value []byte) ([]byte, error) {
	var got []byte
	err := s.inTx(ctx, func(tx *wtx) error {
		_, err := tx.Exec(`INSERT INTO secrets (name, value, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING`,
			name, value, millis(time.Now()))
		if err != nil {
			return err
		}
		return tx.QueryRow(`SELECT value FROM secrets WHERE name = ?`, name).Scan(&got)
	})
	return got, wrap("secret", err)
}
