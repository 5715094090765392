package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/socialbroker/broker/storage"
)

// SchemaVersion reads the schema version of the database at url without
// changing anything: 0 for a schema never migrated. `broker migrate` reads
// it before and after Migrate to say what it applied.
func SchemaVersion(ctx context.Context, url string) (int, error) {
	cfg, err := parseConfig(url)
	if err != nil {
		return 0, fmt.Errorf("postgres: schema version: %w", err)
	}
	ctx, cancel := bound(ctx, opTimeout)
	defer cancel()
	conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig)
	if err != nil {
		return 0, wrap("schema version", err)
	}
	defer conn.Close(ctx)
	// to_regclass follows search_path, as the migrations do.
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil || !exists {
		return 0, wrap("schema version", err)
	}
	var v int
	err = conn.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	return v, wrap("schema version", err)
}

// Migrations lists the embedded migrations in version order.
func Migrations() ([]storage.Migration, error) { return loadMigrations() }
