package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/socialbroker/broker/storage"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

var _ storage.Store = (*Store)(nil)

// Store is a storage.Store kept in one SQLite file.
//
// It holds two pools on that file. SQLite allows one writer at a time, so
// every write goes through a pool of exactly one connection whose
// transactions begin IMMEDIATE: a transaction that reads and then writes
// (redeeming a code, rotating a refresh token) takes the write lock before
// its first read, so two of them can never both read a token as unused, and
// none can fail with SQLITE_BUSY when upgrading a read lock to a write lock.
// Pure reads go through a separate pool that WAL lets run beside the writer.
type Store struct {
	write  *sql.DB
	writer *writer // the only user of write once open: see writer.go
	read   *sql.DB
	reads  *reader // read through prepared statements
}

// busyTimeoutMillis bounds how long a statement waits for a lock held by
// another process on the same file before failing with SQLITE_BUSY.
const busyTimeoutMillis = 5000

// Open opens (creating if needed) the database file at path and brings its
// schema up to date. It fails if the file was written by a newer broker.
func Open(ctx context.Context, path string) (*Store, error) {
	if err := checkPath(path); err != nil {
		return nil, err
	}
	if err := createPrivate(path); err != nil {
		return nil, err
	}
	s := &Store{}
	var err error
	if s.write, err = sql.Open("sqlite", writeDSN(path)); err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	// One writer connection, never closed while idle, so the per-connection
	// pragmas are applied once.
	s.write.SetMaxOpenConns(1)
	s.write.SetMaxIdleConns(1)
	s.write.SetConnMaxIdleTime(0)
	s.writer = newWriter(s.write, maxQueued)

	// Migrating first also creates the file and switches it to WAL before
	// any reader connects.
	if err := s.migrate(ctx); err != nil {
		s.writer.close()
		s.write.Close()
		return nil, err
	}

	if s.read, err = sql.Open("sqlite", readDSN(path)); err != nil {
		s.writer.close()
		s.write.Close()
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	// The driver runs SQLite in Go on the calling goroutine, so readers
	// beyond the CPUs mostly queue; the floor keeps one slow read from
	// holding up the others on a small machine.
	n := max(4, runtime.GOMAXPROCS(0))
	s.read.SetMaxOpenConns(n)
	s.read.SetMaxIdleConns(n)
	s.reads = &reader{stmts{db: s.read}}
	return s, nil
}

// checkPath refuses names the two pools could not share: an in-memory
// database would be a different database per connection, and a '?' would be
// taken by the driver as the start of its parameters.
func checkPath(path string) error {
	switch {
	case path == "", path == ":memory:":
		return errors.New("sqlite: open: a database file path is required")
	case strings.HasPrefix(path, "file:"):
		return fmt.Errorf("sqlite: open: %q: give a file path, not a URI", path)
	case strings.ContainsRune(path, '?'):
		return fmt.Errorf("sqlite: open: %q: path must not contain '?'", path)
	}
	return nil
}

// createPrivate creates the database file readable by its owner only, as
// it holds signing keys; SQLite gives its -wal and -shm files the mode of
// the database file. An existing file keeps the mode the operator chose.
func createPrivate(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("sqlite: open: %w", err)
	}
	return f.Close()
}

// writeDSN configures the writer connection.
//
// synchronous=FULL: in WAL mode NORMAL keeps every committed transaction
// across a process crash but may lose the last ones on an OS crash or power
// cut. Here a lost commit is not only an annoyance: a code whose "used" mark
// is lost can be redeemed a second time, and a refresh token already handed
// to a client would be unknown after restart. One fsync of the WAL per
// commit is cheap next to the upstream round trips around each write.
func writeDSN(path string) string {
	q := url.Values{}
	q.Set("_busy_timeout", fmt.Sprint(busyTimeoutMillis))
	q.Set("_journal_mode", "WAL") // readers never block the writer, nor it them
	q.Set("_synchronous", "FULL")
	q.Set("_foreign_keys", "1")
	q.Set("_txlock", "immediate")
	return path + "?" + q.Encode()
}

// readDSN configures reader connections. query_only makes a write sent to
// the wrong pool fail loudly instead of racing the writer for the lock.
func readDSN(path string) string {
	q := url.Values{}
	q.Set("_busy_timeout", fmt.Sprint(busyTimeoutMillis))
	q.Set("_query_only", "1")
	return path + "?" + q.Encode()
}

// Ping reports whether both pools answer.
func (s *Store) Ping(ctx context.Context) error {
	for _, db := range []*sql.DB{s.write, s.read} {
		if err := db.PingContext(ctx); err != nil {
			return fmt.Errorf("sqlite: ping: %w: %w", storage.ErrUnavailable, err)
		}
	}
	return nil
}

// WriteHealth returns how many write groups have been judged so far and,
// if the latest of them failed because the file could not take it (disk
// full, I/O error, locked past busy_timeout), its error, wrapping
// storage.ErrUnavailable. A write that commits clears it.
func (s *Store) WriteHealth() (writes uint64, err error) {
	n, err := s.writer.health.get()
	if err != nil {
		err = fmt.Errorf("sqlite: writes failing: %w: %w", storage.ErrUnavailable, err)
	}
	return n, err
}

// probeSecret names the row ProbeWrite writes and deletes again.
const probeSecret = "write-probe"

// ProbeWrite commits a tiny write that leaves nothing behind, through the
// same writer as every other, so that WriteHealth has something to judge
// when there is no other write traffic.
func (s *Store) ProbeWrite(ctx context.Context) error {
	err := s.inTx(ctx, func(tx *wtx) error {
		if _, err := tx.Exec(`INSERT INTO secrets (name, value, created_at) VALUES (?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET created_at = excluded.created_at`,
			probeSecret, []byte{0}, millis(time.Now())); err != nil {
			return err
		}
		_, err := tx.Exec(`DELETE FROM secrets WHERE name = ?`, probeSecret)
		return err
	})
	return wrap("probe write", err)
}

// Close closes both pools. The writer goes last so that SQLite, on its last
// connection, checkpoints the WAL into the database file.
func (s *Store) Close() error {
	s.writer.close()
	s.reads.close()
	return errors.Join(s.read.Close(), s.write.Close())
}

// inTx runs fn in a write transaction (BEGIN IMMEDIATE, possibly shared
// with others in one group commit) and returns once it is durable; if fn
// fails, its changes are undone. fn must use only tx, and may run twice
// (see writer): what it leaves behind must come from its last run.
func (s *Store) inTx(ctx context.Context, fn func(tx *wtx) error) error {
	return s.writer.do(ctx, fn)
}

// exec runs one writing statement.
func (s *Store) exec(ctx context.Context, query string, args ...any) error {
	return s.inTx(ctx, func(tx *wtx) error {
		_, err := tx.Exec(query, args...)
		return err
	})
}

// execOne runs one writing statement that must touch a row, else
// storage.ErrNotFound.
func (s *Store) execOne(ctx context.Context, query string, args ...any) error {
	return s.inTx(ctx, func(tx *wtx) error {
		return oneRow(tx.Exec(query, args...))
	})
}
