package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/puddle/v2"

	"github.com/socialbroker/broker/storage"
)

// errZeroNow guards the methods that judge or record now: a zero now would
// accept any expired record, and stored as NULL it would leave a code
// unused or a session alive.
var errZeroNow = errors.New("now is the zero time")

// SQLSTATE codes this package branches on
// (https://www.postgresql.org/docs/current/errcodes-appendix.html).
const (
	uniqueViolation      = "23505"
	foreignKeyViolation  = "23503"
	serializationFailure = "40001"
	deadlockDetected     = "40P01"
	lockNotAvailable     = "55P03" // lock_timeout
	queryCanceled        = "57014" // statement_timeout, or a cancel request
	adminShutdown        = "57P01" // pg_terminate_backend, or a fast shutdown
	crashShutdown        = "57P02"
	cannotConnectNow     = "57P03" // starting up or shutting down
)

// wrap states err in the contract's terms, prefixed by op ("create
// session"). Constraint failures become the bare sentinel: PostgreSQL's
// message names tables and constraints, which callers have no use for and
// which must not drift towards an HTTP response. No message built here
// holds SQL text.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("postgres: %s: %w", op, storage.ErrNotFound)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case uniqueViolation:
			return fmt.Errorf("postgres: %s: %w", op, storage.ErrAlreadyExists)
		case foreignKeyViolation:
			// The row names a user or session that does not exist.
			return fmt.Errorf("postgres: %s: %w", op, storage.ErrNotFound)
		}
	}
	if unavailable(err) {
		return fmt.Errorf("postgres: %s: %w: %w", op, storage.ErrUnavailable, err)
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

// unavailable reports errors that say the database cannot serve right now
// (down, unreachable, restarting, out of connections or disk, too slow for
// the deadline, or still conflicting after retries) rather than that the
// request was wrong; callers answer those with "retry later" instead of an
// internal error. A failure to log in (wrong password, unknown database)
// is a configuration error and not among them.
func unavailable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch sqlstateClass(pgErr.Code) {
		case "08", // connection exception
			"53", // insufficient resources: disk full, too many connections
			"58": // system error: I/O
			return true
		}
		switch pgErr.Code {
		case adminShutdown, crashShutdown, cannotConnectNow, queryCanceled, lockNotAvailable,
			serializationFailure, deadlockDetected:
			return true
		}
		return false
	}
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	return errors.Is(err, context.DeadlineExceeded) ||
		pgconn.Timeout(err) ||
		errors.As(err, &connectErr) ||
		errors.As(err, &netErr) ||
		errors.Is(err, puddle.ErrClosedPool) ||
		errors.Is(err, pgconn.ErrConnClosed) ||
		errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF)
}

// sqlstateClass returns the class of a SQLSTATE: its first two
// characters, or "" if code is malformed.
func sqlstateClass(code string) string {
	if len(code) != 5 {
		return ""
	}
	return code[:2]
}

// retryable reports failures after which running the call again cannot do
// twice what the first run did:
//   - a serialization failure or deadlock, which PostgreSQL reports only
//     after rolling the transaction back;
//   - an error pgx raised before sending anything (pgconn.SafeToRetry),
//     such as a connection found closed.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == serializationFailure || pgErr.Code == deadlockDetected
	}
	return pgconn.SafeToRetry(err)
}
