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
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return storage.ErrNotFound
	}
	return nil
}
