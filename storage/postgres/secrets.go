package postgres

import (
	"context"
	"time"
)

// Secret stores value under name unless a secret is there already, then
// reads back whichever is: a separate statement, so that it sees a secret
// another replica committed while the insert waited on it.
func (s *Store) Secret(ctx context.Context, name string, value []byte) ([]byte, error) {
	var got []byte
	err := s.do(ctx, opTimeout, func(ctx context.Context) error {
		_, err := s.pool.Exec(ctx, `INSERT INTO secrets (name, value, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING`,
			name, value, tstz(time.Now()))
		if err != nil {
			return err
		}
		return s.pool.QueryRow(ctx, `SELECT value FROM secrets WHERE name = $1`, name).Scan(&got)
	})
	return got, wrap("secret", err)
}
