package postgres

import (
	"context"
	"time"

	"github.com/socialbroker/broker/storage"
)

const keyColumns = `id, alg, private_key, created_at, retired_at, expires_at`

func scanKey(row scanner) (storage.SigningKey, error) {
	var k storage.SigningKey
	err := row.Scan(&k.ID, &k.Alg, &k.PrivateKey, (*tstz)(&k.CreatedAt), (*tstz)(&k.RetiredAt), (*tstz)(&k.ExpiresAt))
	return k, err
}

func (s *Store) CreateKey(ctx context.Context, k storage.SigningKey) error {
	err := s.do(ctx, opTimeout, func(ctx context.Context) error {
		_, err := s.pool.Exec(ctx, `INSERT INTO signing_keys (`+keyColumns+`) VALUES ($1, $2, $3, $4, $5, $6)`,
			k.ID, k.Alg, k.PrivateKey, tstz(k.CreatedAt), tstz(k.RetiredAt), tstz(k.ExpiresAt))
		return err
	})
	return wrap("create key", err)
}

// ListKeys keeps keys with no ExpiresAt: they have not been retired yet.
func (s *Store) ListKeys(ctx context.Context, now time.Time) ([]storage.SigningKey, error) {
	var keys []storage.SigningKey
	err := s.do(ctx, opTimeout, func(ctx context.Context) error {
		rows, err := s.pool.Query(ctx, `SELECT `+keyColumns+` FROM signing_keys
			WHERE expires_at IS NULL OR expires_at > $1 ORDER BY created_at DESC, seq DESC`, instant(now))
		if err != nil {
			return err
		}
		keys, err = collect(rows, scanKey)
		return err
	})
	return keys, wrap("list keys", err)
}

func (s *Store) RetireKey(ctx context.Context, id string, retiredAt, expiresAt time.Time) error {
	err := s.do(ctx, opTimeout, func(ctx context.Context) error {
		return oneRow(s.pool.Exec(ctx, `UPDATE signing_keys SET retired_at = $1, expires_at = $2 WHERE id = $3`,
			tstz(retiredAt), tstz(expiresAt), id))
	})
	return wrap("retire key", err)
}
