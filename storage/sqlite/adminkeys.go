package sqlite

import (
	"context"
	"time"

	"github.com/socialbroker/broker/storage"
)

const adminKeyColumns = `id, name, hash, scopes, tenant, created_at, revoked_at`

// scanAdminKey reads scopes as a JSON array of strings, the encoding of
// the roles type.
func scanAdminKey(row scanner) (storage.AdminKey, error) {
	var k storage.AdminKey
	err := row.Scan(&k.ID, &k.Name, &k.Hash, (*roles)(&k.Scopes), &k.Tenant, (*millis)(&k.CreatedAt), (*millis)(&k.RevokedAt))
	return k, err
}

func (s *Store) CreateAdminKey(ctx context.Context, k storage.AdminKey) error {
	err := s.exec(ctx, `INSERT INTO admin_keys (`+adminKeyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.Name, k.Hash, roles(k.Scopes), k.Tenant, millis(k.CreatedAt), millis(k.RevokedAt))
	return wrap("create admin key", err)
}

func (s *Store) GetAdminKey(ctx context.Context, id string) (storage.AdminKey, error) {
	k, err := scanAdminKey(s.reads.QueryRowContext(ctx, `SELECT `+adminKeyColumns+` FROM admin_keys WHERE id = ?`, id))
	return k, wrap("get admin key", err)
}

func (s *Store) ListAdminKeys(ctx context.Context) ([]storage.AdminKey, error) {
	rows, err := s.reads.QueryContext(ctx, `SELECT `+adminKeyColumns+` FROM admin_keys ORDER BY created_at, rowid`)
	keys, err := collect(rows, err, scanAdminKey)
	return keys, wrap("list admin keys", err)
}

// RevokeAdminKey keeps the first revocation time, as RevokeSession does.
func (s *Store) RevokeAdminKey(ctx context.Context, id string, now time.Time) error {
	if now.IsZero() {
		return wrap("revoke admin key", errZeroNow)
	}
	err := s.execOne(ctx, `UPDATE admin_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`, millis(now), id)
	return wrap("revoke admin key", err)
}
