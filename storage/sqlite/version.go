package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/socialbroker/broker/storage"
)

// SchemaVersion reads the schema version of the database file at path
// without changing anything: 0 for a file that does not exist yet or was
// never migrated. `broker migrate` reads it before and after Open to say
// what it applied.
func SchemaVersion(ctx context.Context, path string) (int, error) {
	if err := checkPath(path); err != nil {
		return 0, err
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	db, err := sql.Open("sqlite", readDSN(path))
	if err != nil {
		return 0, fmt.Errorf("sqlite: schema version: %w", err)
	}
	defer db.Close()
	var n int
	err = db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&n)
	if err != nil || n == 0 {
		return 0, wrap("schema version", err)
	}
	var v int
	err = db.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	return v, wrap("schema version", err)
}

// Migrations lists the embedded migrations in version order.
func Migrations() ([]storage.Migration, error) { return loadMigrations() }
