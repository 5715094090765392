package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/socialbroker/broker/storage"
)

// scanner is what pgx.Row and pgx.Rows share, so one scan function per
// record serves single and multi-row reads.
type scanner interface {
	Scan(dest ...any) error
}

// collect reads every row of rows with scan. No rows is a nil slice.
func collect[T any](rows pgx.Rows, scan func(scanner) (T, error)) ([]T, error) {
	return pgx.AppendRows([]T(nil), rows, func(row pgx.CollectableRow) (T, error) { return scan(row) })
}

// execer is what *pgxpool.Pool and pgx.Tx share, so an insert can run
// alone or inside a larger transaction.
type execer interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
}

// oneRow turns a statement that matched nothing into storage.ErrNotFound.
func oneRow(tag pgconn.CommandTag, err error) error {
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return storage.ErrNotFound
	}
	return nil
}
