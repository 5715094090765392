// Package postgres is the storage.Store kept in a PostgreSQL database,
// through pgx's native connection pool (pgxpool), for brokers that run as
// several replicas.
//
// Open brings the schema up to date from the migrations embedded in the
// binary, under an advisory lock so that replicas starting together
// migrate once, and refuses a database migrated by a newer broker. The
// schema lives in the first schema of the URL's search_path. Times are
// timestamptz kept to the millisecond, as the SQLite backend keeps them.
//
// Single-use records are consumed exactly once under concurrent requests
// from any number of replicas: a code is redeemed by one conditional
// UPDATE, a login state taken by DELETE ... RETURNING, and a refresh token
// rotated in a READ COMMITTED transaction that locks its row first
// (SELECT ... FOR UPDATE).
//
// Every call is bounded in time, by ctx or else by a timeout of the
// store's, and reports a database it cannot reach as
// storage.ErrUnavailable. Connections that the server has closed (a
// restart, a failover, pg_terminate_backend) are discarded when taken from
// the pool, so the next calls go to new ones without failing.
package postgres
