package postgres

import (
	"context"
	"embed"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/socialbroker/broker/storage"
)

// migrationFiles holds this backend's schema history, one file per
// version, named NNNN_description.sql and numbered from 1 without gaps. It
// is its own history, not the SQLite backend's: versions of the two need
// not match. A released file is never edited: a change is a new file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// loadMigrations returns the embedded migrations in version order.
func loadMigrations() ([]storage.Migration, error) {
	return storage.LoadMigrations(migrationFiles, "migrations")
}

// migrationLockKey is the advisory lock every broker takes before looking
// at the schema version: "brokermg" in ASCII, read as a big-endian int64.
// Advisory locks are per database, so brokers on different schemas of one
// database wait for each other's migrations too; those are short.
const migrationLockKey int64 = 0x62726f6b65726d67

const createMigrationsTable = `
CREATE TABLE IF NOT EXISTS schema_migrations (
	version    integer     NOT NULL PRIMARY KEY,
	applied_at timestamptz NOT NULL
)`

// beginner is what *pgxpool.Pool and *pgx.Conn share.
type beginner interface {
	BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error)
}

// migrate applies, in one transaction, every migration newer than the
// database's version. The transaction first takes the advisory lock
// migrationLockKey, held until it ends, so that of several brokers starting
// at once one migrates and the others wait, then find the schema current:
// each statement after the lock sees what the previous holder committed
// (READ COMMITTED). DDL is transactional in PostgreSQL, so a failed
// migration leaves no half-built schema behind.
func migrate(ctx context.Context, db beginner) error {
	ms, err := loadMigrations()
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	ctx, cancel := bound(ctx, migrateTimeout)
	defer cancel()
	tx, err := db.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return wrap("migrate", err)
	}
	defer tx.Rollback(ctx) // after Commit: a no-op
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLockKey); err != nil {
		return wrap("migrate: lock", err)
	}
	if _, err := tx.Exec(ctx, createMigrationsTable); err != nil {
		return wrap("migrate", err)
	}
	var current int
	if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
		return wrap("migrate", err)
	}
	if current > len(ms) {
		// Running old code on a newer schema could silently misread or
		// corrupt it; the operator must upgrade the broker.
		return fmt.Errorf("postgres: migrate: %w", storage.SchemaTooNew(current, len(ms)))
	}
	for _, m := range ms[current:] {
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			return wrap("migrate: apply "+m.Name, err)
		}
		// applied_at is for the operator's eyes only; the server's clock
		// is as good as any.
		_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, now())`, m.Version)
		if err != nil {
			return wrap("migrate", err)
		}
	}
	return wrap("migrate", tx.Commit(ctx))
}
