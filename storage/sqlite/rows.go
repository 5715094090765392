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
