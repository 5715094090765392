package postgres

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/socialbroker/broker/storage"
	"github.com/socialbroker/broker/storage/postgres/pgtest"
)

// hotTables are the tables that grow with the traffic: a sequential scan
// of one of them costs more with every sign-in.
var hotTables = []string{"users", "identities", "sessions", "refresh_tokens", "codes", "used_login_states", "sso_sessions", "audit_events"}

// TestPlansOnFreshDatabase (issue 22): on a database analysed while its
// tables were empty, every statement of a sign-in, a redemption, a
// refresh and the revocation poll is planned with an index, as the
// connections of the pool plan it: a generic plan that pgx's statement
// cache keeps for the connection's life. Without the pool's settings,
// PostgreSQL plans these with sequential scans (the tables hold no rows,
// by the statistics) and keeps those plans while the tables fill, until
// autovacuum analyses them again, a minute or more later.
func TestPlansOnFreshDatabase(t *testing.T) {
	dsn := pgtest.DSN(t)
	wire := pgtest.NewWire(t, dsn)
	s := openTest(t, wire.DSN())
	ctx := t.Context()
	tables := strings.Join(hotTables, ", ")
	if _, err := s.pool.Exec(ctx, "ANALYZE "+tables); err != nil {
		t.Fatal(err)
	}

	// The statements of the hot paths, as the store sends them.
	mark := wire.Mark()
	now := time.Now()
	u := storage.User{ID: "u1", Email: "a@example.com", EmailVerified: true, CreatedAt: now, UpdatedAt: now}
	id := storage.Identity{Provider: "google", Subject: "1", Email: "a@example.com", EmailVerified: true, EmailTrusted: true, CreatedAt: now, UpdatedAt: now}
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	must("CreateUser", s.CreateUser(ctx, u, id))
	_, _, err := s.GetIdentityUser(ctx, "google", "1")
	must("GetIdentityUser", err)
	_, err = s.FindUserByTrustedEmail(ctx, "a@example.com")
	must("FindUserByTrustedEmail", err)
	must("UseLoginState", s.UseLoginState(ctx, "refused", now.Add(time.Minute)))
	sso := storage.SSOSession{ID: "b1", SecretHash: "bh", UserID: "u1", Provider: "google", AuthTime: now, CreatedAt: now,
		IdleExpiresAt: now.Add(time.Hour), ExpiresAt: now.Add(time.Hour)}
	sess := storage.Session{ID: "s1", UserID: "u1", TenantID: "t", Provider: "google", SSOID: "b1", AuthTime: now, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	code := storage.AuthCode{Hash: "c1", TenantID: "t", SessionID: "s1", UserID: "u1", ExpiresAt: now.Add(time.Minute)}
	must("CreateSession", s.CreateSession(ctx, storage.NewSession{Session: sess, Codes: []storage.AuthCode{code},
		LoginState: storage.UsedLoginState{ID: "state", ExpiresAt: now.Add(time.Minute)}, SSO: &sso}))
	_, err = s.GetCode(ctx, "c1")
	must("GetCode", err)
	_, err = s.RedeemCode(ctx, "c1", now, storage.RefreshToken{Hash: "r1", CreatedAt: now, ExpiresAt: now.Add(time.Hour)})
	must("RedeemCode", err)
	_, err = s.GetRefreshToken(ctx, "r1")
	must("GetRefreshToken", err)
	_, err = s.RotateRefreshToken(ctx, "r1", storage.RefreshToken{Hash: "r2", SessionID: "s1", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}, []byte("x"), now)
	must("RotateRefreshToken", err)
	_, err = s.GetSession(ctx, "s1")
	must("GetSession", err)
	_, err = s.GetSSOSession(ctx, "bh")
	must("GetSSOSession", err)
	_, err = s.ListRevokedSessions(ctx, now.Add(-time.Hour), now)
	must("ListRevokedSessions", err)
	must("AppendAudits", s.AppendAudits(ctx, []storage.AuditEvent{{Time: now, Type: "login.succeeded", Tenant: "t", User: "u1"}}))
	// Planned again now: the rows above are too few to change any plan.
	if _, err := s.pool.Exec(ctx, "ANALYZE "+tables); err != nil {
		t.Fatal(err)
	}

	var statements []string
	seen := map[string]bool{}
	for _, tr := range wire.Since(mark) {
		for _, st := range tr.Statements {
			st = strings.TrimPrefix(st, "PREPARE ")
			if seen[st] || !strings.Contains(st, "$1") {
				continue // BEGIN, COMMIT, ANALYZE
			}
			seen[st] = true
			statements = append(statements, st)
		}
	}
	if len(statements) < 12 {
		t.Fatalf("only %d statements seen on the wire:\n%s", len(statements), strings.Join(statements, "\n"))
	}

	// A connection as the pool makes them, planning as pgx's cache will.
	cfg, err := parseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "SET plan_cache_mode = force_generic_plan"); err != nil {
		t.Fatal(err)
	}
	seqScan := regexp.MustCompile(`Seq Scan on (` + strings.Join(hotTables, "|") + `)\b`)
	param := regexp.MustCompile(`\$(\d+)`)
	for i, st := range statements {
		n := 0
		for _, m := range param.FindAllStringSubmatch(st, -1) {
			var k int
			fmt.Sscan(m[1], &k)
			n = max(n, k)
		}
		name := fmt.Sprintf("plan_%d", i)
		if _, err := conn.Exec(ctx, "PREPARE "+name+" AS "+st); err != nil {
			t.Fatalf("PREPARE %s: %v", st, err)
		}
		args := strings.TrimSuffix(strings.Repeat("NULL, ", n), ", ")
		rows, err := conn.Query(ctx, "EXPLAIN EXECUTE "+name+"("+args+")")
		if err != nil {
			t.Fatalf("EXPLAIN %s: %v", st, err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		plan := strings.Join(lines, "\n")
		if m := seqScan.FindString(plan); m != "" {
			t.Errorf("%s on a database analysed empty:\n  %s\n%s", m, strings.Join(strings.Fields(st), " "), plan)
		}
	}
}
