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

// sqlLimit is limit as a LIMIT clause's value: NULL, which PostgreSQL
// reads as no limit, for a limit of 0 or less.
func sqlLimit(limit int) any {
	if limit <= 0 {
		return nil
	}
	return limit
}

// queryAll runs a query as one call (see Store.do) and reads every row of
// it with scan.
func queryAll[T any](ctx context.Context, s *Store, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	var out []T
	err := s.do(ctx, opTimeout, func(ctx context.Context) error {
		rows, err := s.pool.Query(ctx, query, args...)
		if err != nil {
			return err
		}
		out, err = collect(rows, scan)
		return err
	})
	return out, err
}
