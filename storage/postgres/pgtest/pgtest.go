// Package pgtest gives tests a PostgreSQL database of their own: DSN
// creates an empty schema and returns a URL whose search_path selects it.
//
// The server is the one named by BROKER_TEST_POSTGRES. When that is unset,
// it is the one at DefaultDSN if it answers, else a private cluster this
// package starts from the installed server binaries (initdb, pg_ctl) in a
// temporary directory, once per test process, and removes when the
// process ends. A test that can have no server fails rather than skips,
// so that a missing server never passes for a green run;
// BROKER_SKIP_POSTGRES=1 skips PostgreSQL tests explicitly, except in CI
// (CI=true), where PostgreSQL tests must run.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

const (
	// EnvDSN names the variable holding the test server's URL.
	EnvDSN = "BROKER_TEST_POSTGRES"
	// EnvSkip names the variable that, set to 1, skips PostgreSQL tests.
	EnvSkip = "BROKER_SKIP_POSTGRES"
	// DefaultDSN is the server tests use when EnvDSN is unset, if it
	// answers.
	DefaultDSN = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	// EnvDefault, when set, replaces DefaultDSN (pgtest's own tests point
	// it at a closed port).
	EnvDefault = "BROKER_TEST_POSTGRES_DEFAULT"
)

// howToStart is appended to every "unreachable" failure.
const howToStart = `install PostgreSQL's server (Debian/Ubuntu: apt-get install postgresql) so that the tests can start a private cluster, ` +
	`start one at 127.0.0.1:5432 (bash .ci/postgres.sh), point ` + EnvDSN + ` at a running server, or set ` + EnvSkip + `=1 to skip PostgreSQL tests`

// probeTimeout bounds the check that the default server answers.
const probeTimeout = 3 * time.Second

// chosen is the server of this test process, found once.
var chosen struct {
	once    sync.Once
	dsn     string
	private *cluster
	err     error
}

// server returns the URL of the server tests use.
func server(t testing.TB) string {
	t.Helper()
	if dsn := os.Getenv(EnvDSN); dsn != "" {
		return dsn // named: reached or failed, never replaced
	}
	chosen.once.Do(func() {
		def := os.Getenv(EnvDefault)
		if def == "" {
			def = DefaultDSN
		}
		ctx, cancel := context.WithTimeout(context.Background(), probeTimeout)
		defer cancel()
		conn, err := pgx.Connect(ctx, def)
		if err == nil {
			conn.Close(ctx)
			chosen.dsn = def
			return
		}
		c, cerr := startCluster()
		if cerr != nil {
			chosen.err = fmt.Errorf("nothing answers at %s (%v), and no private cluster could be started: %w", redacted(def), err, cerr)
			return
		}
		chosen.private, chosen.dsn = c, c.dsn
		// Said once per test process, so that a fallback is never silent.
		fmt.Fprintf(os.Stderr, "pgtest: no usable PostgreSQL at %s (%v): using a private cluster at %s, removed when the tests end\n",
			redacted(def), err, redacted(c.dsn))
	})
	if chosen.err != nil {
		t.Fatalf("pgtest: no PostgreSQL for the tests%s: %v\nTo fix: %s", inCI(), chosen.err, howToStart)
	}
	return chosen.dsn
}

// inCI says so in a failure in CI, where PostgreSQL tests must run.
func inCI() string {
	if os.Getenv("CI") == "true" {
		return " (CI=true: PostgreSQL tests must run)"
	}
	return ""
}

// setupTimeout bounds creating and dropping a schema.
const setupTimeout = 10 * time.Second

// DSN creates a fresh schema named bt_<random> and returns the test
// server's URL with search_path set to it. The schema and all it holds
// are dropped when t ends, after cleanups registered later (such as
// closing a store opened on it) have run.
func DSN(t testing.TB) string {
	t.Helper()
	if os.Getenv(EnvSkip) == "1" {
		if os.Getenv("CI") == "true" {
			t.Fatal("pgtest: " + EnvSkip + "=1 in CI (CI=true): PostgreSQL tests must run there")
		}
		t.Skip(EnvSkip + "=1: PostgreSQL tests skipped")
	}
	base := server(t)
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
