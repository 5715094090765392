package sqlite

import (
	"context"
	"embed"
	"fmt"
	"time"

	"github.com/socialbroker/broker/storage"
)

// migrationFiles holds the schema history, one file per version, named
// NNNN_description.sql and numbered from 1 without gaps. A released file is
// never edited: a change is a new file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// loadMigrations returns the embedded migrations in version order.
func loadMigrations() ([]storage.Migration, error) {
	return storage.LoadMigrations(migrationFiles, "migrations")
}

const createMigrationsTable = `
CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER NOT NULL PRIMARY KEY,
	applied_at INTEGER NOT NULL
) STRICT`

// migrate applies, in one transaction, every migration newer than the
// database's version. The write lock taken by BEGIN IMMEDIATE keeps two
// brokers starting on the same file from both applying them.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := loadMigrations()
	if err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	err = s.inTx(ctx, func(tx *wtx) error {
		if _, err := tx.Exec(createMigrationsTable); err != nil {
			return err
		}
		var current int
		err := tx.QueryRow(`SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current)
		if err != nil {
			return err
		}
		if current > len(ms) {
			// Running old code on a newer schema could silently misread
			// or corrupt it; the operator must upgrade the broker.
			return storage.SchemaTooNew(current, len(ms))
		}
		for _, m := range ms[current:] {
			if err := apply(tx, m); err != nil {
				return err
			}
		}
		return nil
	})
	return wrap("migrate", err)
}

func apply(tx *wtx, m storage.Migration) error {
	if _, err := tx.Exec(m.SQL); err != nil {
		return fmt.Errorf("apply %s: %w", m.Name, err)
	}
	// applied_at is for the operator's eyes only, never compared, so the
	// wall clock is good enough here.
	_, err := tx.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`,
		m.Version, time.Now().UnixMilli())
	return err
}
