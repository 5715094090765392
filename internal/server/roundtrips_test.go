package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/socialbroker/broker/internal/audit"
	"github.com/socialbroker/broker/internal/server/servertest"
	"github.com/socialbroker/broker/storage/postgres/pgtest"
)

// Round trips and statements one returning user's sign-in (authorize,
// callback, code redemption, its audit event) costs PostgreSQL, counted on
// the wire (issue 22): the CPU a sign-in costs there follows them. Trips
// that only prepare statements (once per pooled connection) and those of
// the background chores, which run whatever the traffic, are not the
// sign-in's.
const (
	loginTrips      = 4 // identity and user; the one write; redeem; audit (nothing is read before the upstream: callback.takeFlow)
	loginStatements = 8 // the write: the user may start one (not disabled), spend the state, upsert the broker session, the session, its code
)

// choreMarks identify the background chores' statements (internal/server
// maintain).
var choreMarks = []string{
	"revoked_at >=", // SyncRevocations
	"FROM records",  // syncRecords
	"logout_outbox", // back-channel logouts
	"signing_keys",  // key refresh
	"DELETE FROM",   // the expiry sweep
	"pg_advisory",   // locks of migrations and sweeps
	"write-probe",   // readiness
}

func TestLoginRoundTripsPostgres(t *testing.T) {
	dsn := pgtest.DSN(t)
	wire := pgtest.NewWire(t, dsn)
	h := servertest.Start(t, servertest.Options{DB: wire.DSN(), TOML: servertest.NoLimits})
	// The first sign-in creates the user; later ones find it. A few, so
	// that the pool's connections have prepared what a sign-in runs.
	for range 3 {
		h.SignIn("google", "spa", servertest.Alice)
	}
	// Their events are written off the request path, in batches: all
	// three must be in before the mark, or one is counted as this one's.
	waitAudit(t, dsn, 3)
	mark := wire.Mark()
	h.SignIn("google", "spa", servertest.Alice)
	waitAudit(t, dsn, 4)

	var trips, statements int
	var log []string
	for _, tr := range wire.Since(mark) {
		if chore(tr) || prepareOnly(tr) {
			continue
		}
		trips++
		statements += len(tr.Statements)
		var sql []string
		for _, st := range tr.Statements {
			sql = append(sql, strings.Join(strings.Fields(st), " "))
		}
		log = append(log, strings.Join(sql, "\n    + "))
	}
	if trips > loginTrips || statements > loginStatements {
		t.Errorf("a sign-in made %d round trips and %d statements, want at most %d and %d:\n  %s",
			trips, statements, loginTrips, loginStatements, strings.Join(log, "\n  "))
	}
	if trips < loginTrips {
		t.Errorf("a sign-in made only %d round trips: the count misses some:\n  %s", trips, strings.Join(log, "\n  "))
	}
}

func chore(tr pgtest.Trip) bool {
	for _, st := range tr.Statements {
		for _, m := range choreMarks {
			if strings.Contains(st, m) {
				return true
			}
		}
	}
	return false
}

func prepareOnly(tr pgtest.Trip) bool {
	for _, st := range tr.Statements {
		if !strings.HasPrefix(st, "PREPARE ") {
			return false
		}
	}
	return len(tr.Statements) > 0
}

// waitAudit waits until n sign-ins' audit events, written off the
// request path, are in the database. It asks on a connection of its own,
// around the wire.
func waitAudit(t *testing.T, dsn string, n int) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var seen int
		if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM audit_events WHERE type = $1`, audit.LoginSucceeded).Scan(&seen); err != nil {
			t.Fatal(err)
		}
		if seen >= n {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("fewer than %d audit events written within 10s of the sign-ins", n)
}
