package postgres

import (
	"context"
	"time"

	"github.com/socialbroker/broker/storage"
)

const adminKeyColumns = `id, name, hash, scopes, tenant, created_at, revoked_at`

func scanAdminKey(row scanner) (storage.AdminKey, error) {
	var k storage.AdminKey
	err := row.Scan(&k.ID, &k.Name, &k.Hash, &k.Scopes, &k.Tenant, (*tstz)(&k.CreatedAt), (*tstz)(&k.RevokedAt))
	if len(k.Scopes) == 0 {
		k.Scopes = nil
	}
	return k, err
}

func (s *Store) CreateAdminKey(ctx context.Context, k storage.AdminKey) error {
	err := s.do(ctx, opTimeout, func(ctx context.Context) error {
		_, err := s.pool.Exec(ctx, `INSERT INTO admin_keys (`+adminKeyColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
			k.ID, k.Name, k.Hash, roleList(k.Scopes), k.Tenant, tstz(k.CreatedAt), tstz(k.RevokedAt))
		return err
	})
	return wrap("create admin key", err)
}

func (s *Store) GetAdminKey(ctx context.Context, id string) (storage.AdminKey, error) {
	var k storage.AdminKey
	err := s.do(ctx, opTimeout, func(ctx context.Context) error {
		var err error
		k, err = scanAdminKey(s.pool.QueryRow(ctx, `SELECT `+adminKeyColumns+` FROM admin_keys WHERE id = $1`, id))
		return err
	})
	return k, wrap("get admin key", err)
}

func (s *Store) ListAdminKeys(ctx context.Context) ([]storage.AdminKey, error) {
	keys, err := queryAll(ctx, s, scanAdminKey, `SELECT `+adminKeyColumns+` FROM admin_keys ORDER BY created_at, seq`)
	return keys, wrap("list admin keys", err)
}

// RevokeAdminKey keeps the first revocation time, as RevokeSession does.
func (s *Store) RevokeAdminKey(ctx context.Context, id string, now time.Time) error {
	if now.IsZero() {
		return wrap("revoke admin key", errZeroNow)
	}
	err := s.do(ctx, opTimeout, func(ctx context.Context) error {
		return oneRow(s.pool.Exec(ctx, `UPDATE admin_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE id = $2`, tstz(now), id))
	})
	return wrap("revoke admin key", err)
}
