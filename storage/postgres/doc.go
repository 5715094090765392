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
// from any number of replicas, each by one statement whose conditional
// UPDATE or DELETE takes the row lock: a code is redeemed (with its
// session's first refresh token inserted in the same statement), a login
// state taken by DELETE ... RETURNING, a refresh token rotated (with its
// successor inserted). Under READ COMMITTED the calls that waited for the
// lock re-check the condition against the winner's row and match nothing.
// Runtime configuration records take their change-feed numbers from a
// counter row, whose lock orders their writers so that the numbers become
// visible in commit order (see records.go).
//
// Every call is bounded in time, by ctx or else by a timeout of the
// store's, and reports a database it cannot reach as
// storage.ErrUnavailable. Connections that the server has closed (a
// restart, a failover, pg_terminate_backend) are discarded when taken from
// the pool, so the next calls go to new ones without failing.
package postgres
