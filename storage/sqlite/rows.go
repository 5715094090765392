package sqlite

import (
	"database/sql"

	"github.com/socialbroker/broker/storage"
)

// scanner is what *sql.Row and *sql.Rows share, so one scan function per
// record serves single and multi-row reads.
type scanner interface {
	Scan(dest ...any) error
}

// oneRow turns an UPDATE that matched nothing into storage.ErrNotFound.
func oneRow(res sql.Result, err error) error {
	n, err := rowsAffected(res, err)
	if err != nil {
		return err
	}
	if n == 0 {
		return storage.ErrNotFound
	}
	return nil
}

// rowsAffected is how many rows a statement changed.
func rowsAffected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// collect reads every row of a query with scan, and closes them. No rows
// is a nil slice. It takes the query's results as they come, rows and
// error, so that a failed query needs no branch of its own.
func collect[T any](rows *sql.Rows, err error, scan func(scanner) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// sqlLimit is limit as a LIMIT clause's value: SQLite reads a negative
// one as no limit, which is what a limit of 0 or less asks for.
func sqlLimit(limit int) int {
	if limit <= 0 {
		return -1
	}
	return limit
}
