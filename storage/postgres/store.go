package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/socialbroker/broker/storage"
)

var _ storage.Store = (*Store)(nil)

// Store is a storage.Store kept in a PostgreSQL database, through one pgx
// connection pool.
type Store struct {
	pool   *pgxpool.Pool
	health *writeHealth // the pool's tracer
}

// Defaults for what the URL does not set (pool_max_conns,
// pool_max_conn_idle_time, pool_health_check_period, connect_timeout).
const (
	// maxConns: a broker's statements are short, so a few connections per
	// core keep the CPUs busy while others wait on the network or on a row
	// lock; more would only queue inside PostgreSQL.
	maxConns          = 16
	maxConnIdleTime   = 5 * time.Minute
	healthCheckPeriod = 30 * time.Second
	connectTimeout    = 5 * time.Second
)

// Bounds on one call whose ctx carries no deadline, so that no call hangs
// on an unreachable or stuck server. They are at least connectTimeout, so
// that a call needing a new connection may spend all of it.
const (
	opTimeout      = 5 * time.Second
	sweepTimeout   = time.Minute // DeleteExpired may meet many rows
	migrateTimeout = time.Minute // may wait for another replica's migration
)

// Open connects to the database at url (postgres://user@host/db?...) and
// brings its schema up to date. It fails if the database was migrated by
// a newer broker, or cannot be reached (storage.ErrUnavailable).
//
// Parameters in url that PostgreSQL knows, such as search_path, apply to
// every connection; pgxpool's pool_* parameters override the pool defaults.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := parseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	health := &writeHealth{}
	cfg.ConnConfig.Tracer = health
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	return &Store{pool: pool, health: health}, nil
}

// parseConfig parses url and fills in the defaults it leaves open (the URL
// may set any of them, enable_seqscan included).
//
// enable_seqscan=off: every statement of the broker looks rows up by an
// index built for it, and pgx prepares each once per connection, so that
// PostgreSQL soon plans it once (a generic plan) and keeps that plan for
// the connection's life, until the table is analysed again. Planned while
// a table was empty by its statistics (a new database, which autovacuum
// analyses after its first few rows), that plan is a sequential scan, kept
// while the table fills: a minute of logins at full rate scans tens of
// thousands of rows each (TestPlansOnFreshDatabase). With sequential scans
// priced out, the plan is the index from the first statement; a statement
// that has no index to use is still planned, with a sequential scan.
//
// The URL is parsed twice because pgxpool.ParseConfig consumes the pool_*
// parameters without saying which were given.
func parseConfig(url string) (*pgxpool.Config, error) {
	given, err := pgconn.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, err
	}
	set := func(param string) bool {
		_, ok := given.RuntimeParams[param]
		return ok
	}
	if !set("pool_max_conns") {
		cfg.MaxConns = maxConns
	}
	if !set("pool_max_conn_idle_time") {
		cfg.MaxConnIdleTime = maxConnIdleTime
	}
	if !set("pool_health_check_period") {
		cfg.HealthCheckPeriod = healthCheckPeriod
	}
	if !set("enable_seqscan") {
		cfg.ConnConfig.RuntimeParams["enable_seqscan"] = "off"
	}
	if cfg.ConnConfig.ConnectTimeout <= 0 {
		cfg.ConnConfig.ConnectTimeout = connectTimeout
	}
	cfg.PrepareConn = prepareConn
	return cfg, nil
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := bound(ctx, opTimeout)
	defer cancel()
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w: %w", storage.ErrUnavailable, err)
	}
	return nil
}

// Close closes the pool, waiting for connections in use to be released.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// bound gives ctx the deadline timeout unless it has one already.
func bound(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, timeout)
}

// maxAttempts bounds how often one call runs its statements; see retryable.
const maxAttempts = 3

// do runs fn under a deadline (timeout, unless ctx has one), again while it
// fails in a way that retryable says changed nothing. fn must set its
// results afresh on every run.
func (s *Store) do(ctx context.Context, timeout time.Duration, fn func(ctx context.Context) error) error {
	ctx, cancel := bound(ctx, timeout)
	defer cancel()
	for attempt := 1; ; attempt++ {
		err := fn(ctx)
		if err == nil || attempt == maxAttempts || ctx.Err() != nil || !retryable(err) {
			return err
		}
	}
}

// inTx runs fn in a READ COMMITTED transaction and commits it if fn
// returns nil. The level is set explicitly so that a database whose
// default is stricter does not turn row-lock waits into serialization
// failures.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		// A failed rollback needs no handling: pgx then closes the
		// connection, which ends the transaction on the server too.
		_ = tx.Rollback(ctx)
		return err
	}
	return tx.Commit(ctx)
}
