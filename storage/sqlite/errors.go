package sqlite

import (
	"database/sql"
	"errors"
	"fmt"

	"github.com/socialbroker/broker/storage"

	driver "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// errZeroNow guards the methods that judge or record now: a zero now would
// accept any expired record, and stored as NULL it would leave a code
// unused or a session alive.
var errZeroNow = errors.New("now is the zero time")

// wrap states err in the contract's terms, prefixed by op ("create
// session"). Constraint failures become the bare sentinel: SQLite's message
// names tables and columns, which callers have no use for and which must not
// drift towards an HTTP response.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlite: %s: %w", op, storage.ErrNotFound)
	}
	var se *driver.Error
	if errors.As(err, &se) {
		switch code := se.Code(); {
		case code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, code == sqlite3.SQLITE_CONSTRAINT_UNIQUE:
			return fmt.Errorf("sqlite: %s: %w", op, storage.ErrAlreadyExists)
		case code == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			// The row names a user or session that does not exist.
			return fmt.Errorf("sqlite: %s: %w", op, storage.ErrNotFound)
		case unavailable(code):
			return fmt.Errorf("sqlite: %s: %w: %w", op, storage.ErrUnavailable, err)
		}
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}

// unavailable reports result codes that say the file cannot be used right
// now (locked by another process past busy_timeout, unreadable, disk full)
// rather than that the request was wrong; callers answer those with a retry
// later instead of an internal error.
func unavailable(code int) bool {
	switch code & 0xff { // primary code of an extended one
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_CANTOPEN,
		sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_PROTOCOL:
		return true
	}
	return false
}
