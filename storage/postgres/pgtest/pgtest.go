// Package pgtest gives tests a PostgreSQL database of their own: DSN
// creates an empty schema and returns a URL whose search_path selects it.
//
// The server is the one named by BROKER_TEST_POSTGRES (DefaultDSN if
// unset). A test that cannot reach it fails rather than skips, so that a
// stopped server never passes for a green run; BROKER_SKIP_POSTGRES=1
// skips PostgreSQL tests explicitly.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

const (
	// EnvDSN names the variable holding the test server's URL.
	EnvDSN = "BROKER_TEST_POSTGRES"
	// EnvSkip names the variable that, set to 1, skips PostgreSQL tests.
	EnvSkip = "BROKER_SKIP_POSTGRES"
	// DefaultDSN is the server tests use when EnvDSN is unset.
	DefaultDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
)

// howToStart is appended to every "unreachable" failure.
const howToStart = `start PostgreSQL (on the dev machine: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start), ` +
	`point ` + EnvDSN + ` at a running server, or set ` + EnvSkip + `=1 to skip PostgreSQL tests`

// setupTimeout bounds creating and dropping a schema.
const setupTimeout = 10 * time.Second

// DSN creates a fresh schema named bt_<random> and returns the test
// server's URL with search_path set to it. The schema and all it holds
// are dropped when t ends, after cleanups registered later (such as
// closing a store opened on it) have run.
func DSN(t testing.TB) string {
	t.Helper()
	if os.Getenv(EnvSkip) == "1" {
		t.Skip(EnvSkip + "=1: PostgreSQL tests skipped")
	}
	base := os.Getenv(EnvDSN)
	if base == "" {
		base = DefaultDSN
	}
	schema := "bt_" + randomHex(t, 8)
	ident := pgx.Identifier{schema}.Sanitize()
	exec(t, base, "CREATE SCHEMA "+ident)
	t.Cleanup(func() { exec(t, base, "DROP SCHEMA "+ident+" CASCADE") })
	return withSearchPath(t, base, schema)
}

// exec runs one statement on a connection of its own. It uses a context of
// its own too: t's is already done when cleanups run.
func exec(t testing.TB, dsn, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("pgtest: cannot reach the test PostgreSQL (%s): %v\nTo fix: %s", redacted(dsn), err, howToStart)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("pgtest: %s: %v", sql, err)
	}
}

func withSearchPath(t testing.TB, dsn, schema string) string {
	t.Helper()
	if !strings.Contains(dsn, "://") { // keyword/value form
		return dsn + " search_path=" + schema
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("pgtest: %s: %v", EnvDSN, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// redacted is dsn without its password, for messages.
func redacted(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && strings.Contains(dsn, "://") {
		return u.Redacted()
	}
	return "the " + EnvDSN + " server"
}

func randomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
