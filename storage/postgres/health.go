package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/socialbroker/broker/storage"
)

// writeHealth watches the outcome of every statement, as a pgx tracer, for
// what readiness needs to know without writing on every probe: whether
// the database takes writes. Ping cannot tell: with its disk full or its
// WAL volume failing, PostgreSQL still answers pings and reads while every
// INSERT fails (53100 disk_full, 58030 io_error).
//
// A statement that fails because the server cannot do any work (class 53
// insufficient resources, 58 system error, 08 connection exception, the
// server shutting down, the connection lost) marks writes failing; a
// statement that writes (see writes) and succeeds clears the mark. Reads
// that succeed clear nothing: on a full disk they still work.
type writeHealth struct {
	writes atomic.Uint64           // statements judged
	failed atomic.Pointer[failure] // the latest judged one's, if refused
}

// failure is a refused statement's error. One that says the server lacks
// disk or I/O (class 53 or 58) is cleared only by a write that succeeds;
// one that says the connection failed, by any statement that succeeds,
// the revocation poll's reads included: they prove the connection back.
type failure struct {
	err  error
	disk bool
}

var (
	_ pgx.QueryTracer = (*writeHealth)(nil)
	_ pgx.BatchTracer = (*writeHealth)(nil)
)

// writing marks, in a statement's context, one that writes: its command
// tag may not say so (a WITH ... UPDATE ... SELECT is tagged SELECT).
type writing struct{}

func (h *writeHealth) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	if writes(d.SQL) {
		return context.WithValue(ctx, writing{}, true)
	}
	return ctx
}

func (h *writeHealth) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryEndData) {
	h.record(ctx.Value(writing{}) != nil, d.Err)
}

func (h *writeHealth) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}

func (h *writeHealth) TraceBatchQuery(_ context.Context, _ *pgx.Conn, d pgx.TraceBatchQueryData) {
	h.record(writes(d.SQL), d.Err)
}

func (h *writeHealth) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

func (h *writeHealth) record(write bool, err error) {
	if err != nil {
		if refused(err) {
			h.writes.Add(1)
			h.failed.Store(&failure{err: err, disk: diskFailure(err)})
		}
		return
	}
	f := h.failed.Load()
	if write || (f != nil && !f.disk) {
		h.writes.Add(1)
		if f != nil {
			h.failed.CompareAndSwap(f, nil)
		}
	}
}

// diskFailure reports errors of class 53 (insufficient resources: disk
// full, out of memory) and 58 (system error: I/O).
func diskFailure(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	c := sqlstateClass(pgErr.Code)
	return c == "53" || c == "58"
}

// writes reports whether a statement of this package writes: an INSERT,
// UPDATE or DELETE, or a WITH holding one (its keywords in capitals, as
// every statement here writes them: no copy of the text per call).
func writes(sql string) bool {
	sql = strings.TrimSpace(sql)
	if len(sql) < 6 {
		return false
	}
	switch strings.ToUpper(sql[:6]) {
	case "INSERT", "UPDATE", "DELETE":
		return true
	}
	if !strings.EqualFold(sql[:4], "WITH") {
		return false
	}
	return strings.Contains(sql, "UPDATE ") || strings.Contains(sql, "INSERT ") || strings.Contains(sql, "DELETE ")
}

// refused reports errors that say the server cannot take work now, as
// opposed to this statement being wrong, conflicting, or given up by its
// caller (a cancelled or timed-out request says nothing about the disk).
func refused(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || pgconn.Timeout(err) {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch sqlstateClass(pgErr.Code) {
		case "08", "53", "58":
			return true
		}
		switch pgErr.Code {
		case adminShutdown, crashShutdown, cannotConnectNow:
			return true
		}
		return false
	}
	return unavailable(err) // the connection lost, the pool closed
}

// WriteHealth returns how many statements have been judged so far (see
// writeHealth) and, if the latest of them failed because the database
// could not take it, its error, wrapping storage.ErrUnavailable. A write
// that succeeds clears it.
func (s *Store) WriteHealth() (writes uint64, err error) {
	n := s.health.writes.Load()
	if f := s.health.failed.Load(); f != nil {
		return n, fmt.Errorf("postgres: writes failing: %w: %w", storage.ErrUnavailable, f.err)
	}
	return n, nil
}

// probeSecret names the row ProbeWrite writes and deletes again.
const probeSecret = "write-probe"

// ProbeWrite commits a tiny write that leaves nothing behind (a row
// inserted and deleted in one transaction: both go through the WAL), so
// that WriteHealth has something to judge when there is no other write
// traffic.
func (s *Store) ProbeWrite(ctx context.Context) error {
	err := s.do(ctx, opTimeout, func(ctx context.Context) error {
		return s.inTx(ctx, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO secrets (name, value, created_at) VALUES ($1, $2, $3)
				ON CONFLICT (name) DO UPDATE SET created_at = excluded.created_at`,
				probeSecret, []byte{0}, tstz(time.Now())); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `DELETE FROM secrets WHERE name = $1`, probeSecret)
			return err
		})
	})
	return wrap("probe write", err)
}
