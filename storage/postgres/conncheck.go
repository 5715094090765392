package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// prepareConn runs as a connection leaves the pool (pgxpool's
// PrepareConn) and turns away those the server has already closed, so the
// call goes to a live or new connection instead of failing.
//
// pgxpool pings only connections idle for more than a second; without this
// check, after pg_terminate_backend, a failover or a restart, every
// connection used within the last second would fail the next call made on
// it. The check costs no round trip: PostgreSQL, when it ends a backend,
// writes an ErrorResponse (57P01 admin_shutdown, or an idle timeout) and
// closes the socket, so a dead idle connection has something to read,
// where a live one has nothing.
func prepareConn(ctx context.Context, conn *pgx.Conn) (bool, error) {
	pc := conn.PgConn()
	// SyncConn returns at once unless pgx still holds unread data of its
	// own; it must come first so that the raw read below races nothing.
	if err := pc.SyncConn(ctx); err != nil {
		return false, nil
	}
	return !serverClosed(pc.Conn()), nil
}
