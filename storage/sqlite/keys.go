package sqlite

import (
	"context"
	"time"

	"github.com/socialbroker/broker/storage"
)

const keyColumns = `id, alg, private_key, created_at, retired_at, expires_at`

func scanKey(row scanner) (storage.SigningKey, error) {
	var k storage.SigningKey
	err := row.Scan(&k.ID, &k.Alg, &k.PrivateKey, (*millis)(&k.CreatedAt), (*millis)(&k.RetiredAt), (*millis)(&k.ExpiresAt))
	return k, err
}

func (s *Store) CreateKey(ctx context.Context, k storage.SigningKey) error {
	err := s.exec(ctx, `INSERT INTO signing_keys (`+keyColumns+`) VALUES (?, ?, ?, ?, ?, ?)`,
		k.ID, k.Alg, k.PrivateKey, millis(k.CreatedAt), millis(k.RetiredAt), millis(k.ExpiresAt))
	return wrap("create key", err)
}

// ListKeys keeps keys with no ExpiresAt: they have not been retired yet.
func (s *Store) ListKeys(ctx context.Context, now time.Time) ([]storage.SigningKey, error) {
	keys, err := s.listKeys(ctx, now)
	return keys, wrap("list keys", err)
}

func (s *Store) listKeys(ctx context.Context, now time.Time) ([]storage.SigningKey, error) {
	rows, err := s.reads.QueryContext(ctx, `SELECT `+keyColumns+` FROM signing_keys
		WHERE expires_at IS NULL OR expires_at > ? ORDER BY created_at DESC, rowid DESC`, now.UnixMilli())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var keys []storage.SigningKey
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, rows.Err()
}

func (s *Store) RetireKey(ctx context.Context, id string, retiredAt, expiresAt time.Time) error {
	err := s.execOne(ctx, `UPDATE signing_keys SET retired_at = ?, expires_at = ? WHERE id = ?`,
		millis(retiredAt), millis(expiresAt), id)
	return wrap("retire key", err)
}
