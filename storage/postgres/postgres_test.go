package postgres

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/socialbroker/broker/storage"
	"github.com/socialbroker/broker/storage/postgres/pgtest"
	"github.com/socialbroker/broker/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store {
		return openTest(t, pgtest.DSN(t))
	})
}

func openTest(t testing.TB, dsn string) *Store {
	t.Helper()
	s, err := Open(t.Context(), dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// schemaOf returns the search_path a pgtest DSN selects.
func schemaOf(t testing.TB, dsn string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("search_path")
}

// checkMigrated fails t unless the schema of s holds exactly one row per
// embedded migration.
func checkMigrated(t testing.TB, s *Store) {
	t.Helper()
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	var rows, version int
	err = s.pool.QueryRow(t.Context(), `SELECT COUNT(*), MAX(version) FROM schema_migrations`).Scan(&rows, &version)
	if err != nil {
		t.Fatal(err)
	}
	if rows != len(ms) || version != len(ms) {
		t.Fatalf("schema_migrations: got %d rows up to version %d, want %d rows up to %d", rows, version, len(ms), len(ms))
	}
}

func TestMigrationsAppliedOnce(t *testing.T) {
	dsn := pgtest.DSN(t)
	s, err := Open(t.Context(), dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	u := storage.User{ID: "u1", Name: "One", CreatedAt: time.UnixMilli(1000).UTC()}
	if err := s.CreateUser(t.Context(), u, storage.Identity{Provider: "p", Subject: "1"}); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	s.Close()

	s = openTest(t, dsn) // migrating a current schema changes nothing
	got, err := s.GetUser(t.Context(), "u1")
	if err != nil || got.Name != "One" {
		t.Fatalf("GetUser after reopen: got %+v, %v; want user One", got, err)
	}
	checkMigrated(t, s)

	// The tables are in the schema the URL's search_path names.
	var schema string
	if err := s.pool.QueryRow(t.Context(), `SELECT table_schema FROM information_schema.tables WHERE table_name = 'users' AND table_schema = current_schema()`).Scan(&schema); err != nil {
		t.Fatalf("users table in current_schema(): %v", err)
	}
	if want := schemaOf(t, dsn); schema != want {
		t.Fatalf("users table in schema %q, want %q", schema, want)
	}
}

// Replicas starting at once on an empty schema: the advisory lock lets one
// migrate while the others wait and then find nothing to do.
func TestOpenConcurrently(t *testing.T) {
	dsn := pgtest.DSN(t)
	const n = 10
	stores := make([]*Store, n)
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			stores[i], errs[i] = Open(t.Context(), dsn)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open %d: %v", i, err)
			continue
		}
		t.Cleanup(func() { stores[i].Close() })
	}
	if t.Failed() {
		t.FailNow()
	}
	checkMigrated(t, stores[0])
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	dsn := pgtest.DSN(t)
	s := openTest(t, dsn)
	if _, err := s.pool.Exec(t.Context(), `INSERT INTO schema_migrations (version, applied_at) VALUES (999, now())`); err != nil {
		t.Fatal(err)
	}
	s.Close()

	ms, _ := loadMigrations()
	want := fmt.Sprintf("database schema version 999 is newer than this broker (%d)", len(ms))
	s, err := Open(t.Context(), dsn)
	if err == nil {
		s.Close()
		t.Fatal("Open: got no error, want the newer schema refused")
	}
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("Open: got error %q, want it to say %q", err, want)
	}
}

func TestOpenRejectsURL(t *testing.T) {
	for _, dsn := range []string{"postgres://[::1", "postgres://h/db?pool_max_conns=zero"} {
		if s, err := Open(t.Context(), dsn); err == nil {
			s.Close()
			t.Errorf("Open(%q): got no error, want one", dsn)
		}
	}
}

func TestPoolDefaults(t *testing.T) {
	tests := []struct {
		url       string
		wantConns int32
		wantDial  time.Duration
	}{
		{"postgres://u@h/db", maxConns, connectTimeout},
		{"postgres://u@h/db?pool_max_conns=3&connect_timeout=9", 3, 9 * time.Second},
	}
	for _, tt := range tests {
		cfg, err := parseConfig(tt.url)
		if err != nil {
			t.Fatalf("parseConfig(%q): %v", tt.url, err)
		}
		if cfg.MaxConns != tt.wantConns || cfg.ConnConfig.ConnectTimeout != tt.wantDial {
			t.Errorf("parseConfig(%q): got MaxConns %d, ConnectTimeout %v; want %d, %v",
				tt.url, cfg.MaxConns, cfg.ConnConfig.ConnectTimeout, tt.wantConns, tt.wantDial)
		}
	}
}

func TestClosedStoreUnavailable(t *testing.T) {
	s, err := Open(t.Context(), pgtest.DSN(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	s.Close()
	if err := s.Ping(t.Context()); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("Ping after Close: got %v, want ErrUnavailable", err)
	}
	if _, err := s.GetUser(t.Context(), "u1"); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("GetUser after Close: got %v, want ErrUnavailable", err)
	}
}

// Killing the store's backends (an administrator, a failover, a restart)
// must cost no call an error: each finds its connection dead before
// sending anything, or is retried on a fresh one.
func TestRecoversFromTerminatedBackends(t *testing.T) {
	app := "bt_terminate_" + strings.ReplaceAll(t.Name(), "/", "_")
	dsn := pgtest.DSN(t) + "&application_name=" + url.QueryEscape(app)
	s := openTest(t, dsn)
	storagetest.Seed(t, s)
	warm(t, s)

	admin, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	current := "rt"
	for round := range 3 {
		var killed int
		err := admin.QueryRow(t.Context(), `SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity
			WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = $1`, app).Scan(&killed)
		if err != nil {
			t.Fatal(err)
		}
		if killed == 0 {
			t.Fatalf("round %d: no backend of the store to terminate", round)
		}
		if err := waitGone(t, admin, app); err != nil {
			t.Fatal(err)
		}
		for i := range 5 {
			if _, err := s.GetSession(t.Context(), "s1"); err != nil {
				t.Fatalf("round %d: GetSession %d after terminating %d backends: %v", round, i, killed, err)
			}
			if err := s.UseLoginState(t.Context(), fmt.Sprintf("ls-%d-%d", round, i), time.UnixMilli(9000)); err != nil {
				t.Fatalf("round %d: UseLoginState %d after terminating %d backends: %v", round, i, killed, err)
			}
			next := storage.RefreshToken{Hash: fmt.Sprintf("rt-%d-%d", round, i), SessionID: "s1", ExpiresAt: time.UnixMilli(9000)}
			if _, err := s.RotateRefreshToken(t.Context(), current, next, nil, time.UnixMilli(2000)); err != nil {
				t.Fatalf("round %d: RotateRefreshToken %d after terminating %d backends: %v", round, i, killed, err)
			}
			current = next.Hash
		}
		warm(t, s)
	}
}

// warm makes the pool hold several connections, each used just now.
func warm(t testing.TB, s *Store) {
	t.Helper()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := s.pool.Exec(t.Context(), `SELECT pg_sleep(0.05)`); err != nil {
				t.Errorf("warm: %v", err)
			}
		})
	}
	wg.Wait()
}

// waitGone waits until no backend of application app is left, so that
// the next calls meet connections whose server side is gone.
func waitGone(t testing.TB, admin *pgx.Conn, app string) error {
	t.Helper()
	for range 100 {
		var n int
		err := admin.QueryRow(t.Context(), `SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()`, app).Scan(&n)
		if err != nil || n == 0 {
			return err
		}
		time.Sleep(10 * time.Millisecond)
	}
	return errors.New("terminated backends still listed")
}

func TestOpenClosedPort(t *testing.T) {
	addr := closedPort(t)
	dsn := "postgres://postgres@" + addr + "/test?sslmode=disable"
	// No deadline of the caller's: the store's own bounds must end the call.
	ctx := context.Background()
	noHang(t, "Open", func() error {
		s, err := Open(ctx, dsn)
		if err == nil {
			s.Close()
		}
		return err
	})
}

// Once the server is gone, every method fails with ErrUnavailable instead
// of hanging.
func TestServerGone(t *testing.T) {
	dsn := pgtest.DSN(t)
	p := pgtest.NewProxy(t, dsn)
	s := openTest(t, p.DSN())
	storagetest.Seed(t, s)
	p.Close()

	ctx := context.Background()
	at := time.UnixMilli(1000)
	calls := map[string]func() error{
		"Ping": func() error { return s.Ping(ctx) },
		"CreateUser": func() error {
			return s.CreateUser(ctx, storage.User{ID: "u2"}, storage.Identity{Provider: "p", Subject: "2"})
		},
		"GetUser":        func() error { _, err := s.GetUser(ctx, "u1"); return err },
		"UpdateUser":     func() error { return s.UpdateUser(ctx, storage.User{ID: "u1"}) },
		"GetIdentity":    func() error { _, err := s.GetIdentity(ctx, "p", "1"); return err },
		"AddIdentity":    func() error { return s.AddIdentity(ctx, storage.Identity{UserID: "u1", Provider: "q", Subject: "1"}) },
		"UpdateIdentity": func() error { return s.UpdateIdentity(ctx, storage.Identity{Provider: "p", Subject: "1"}) },
		"ListIdentities": func() error { _, err := s.ListIdentities(ctx, "u1"); return err },
		"FindUserByTrustedEmail": func() error {
			_, err := s.FindUserByTrustedEmail(ctx, "a@example.com")
			return err
		},
		"UseLoginState": func() error { return s.UseLoginState(ctx, "x", at) },
		"GetCode":       func() error { _, err := s.GetCode(ctx, "c"); return err },
		"Secret":        func() error { _, err := s.Secret(ctx, "k", []byte("v")); return err },
		"RedeemCode": func() error {
			_, err := s.RedeemCode(ctx, "c", at, storage.RefreshToken{Hash: "r2", SessionID: "s2"})
			return err
		},
		"CreateSession": func() error {
			return s.CreateSession(ctx, storage.NewSession{
				Session:    storage.Session{ID: "s2", UserID: "u1", ExpiresAt: at},
				Codes:      []storage.AuthCode{{Hash: "c", SessionID: "s2", ExpiresAt: at}},
				LoginState: storage.UsedLoginState{ID: "y", ExpiresAt: at},
			})
		},
		"GetSession":          func() error { _, err := s.GetSession(ctx, "s1"); return err },
		"RevokeSession":       func() error { return s.RevokeSession(ctx, "s1", at) },
		"ListRevokedSessions": func() error { _, err := s.ListRevokedSessions(ctx, at, at); return err },
		"GetRefreshToken":     func() error { _, err := s.GetRefreshToken(ctx, "rt"); return err },
		"RotateRefreshToken": func() error {
			_, err := s.RotateRefreshToken(ctx, "rt", storage.RefreshToken{Hash: "r3", SessionID: "s1"}, nil, at)
			return err
		},
		"CreateKey":     func() error { return s.CreateKey(ctx, storage.SigningKey{ID: "k", PrivateKey: []byte("k")}) },
		"ListKeys":      func() error { _, err := s.ListKeys(ctx, at); return err },
		"RetireKey":     func() error { return s.RetireKey(ctx, "k", at, at) },
		"DeleteExpired": func() error { _, err := s.DeleteExpired(ctx, at); return err },
	}
	for name, call := range calls {
		noHang(t, name, call)
	}
}

// A server that accepts connections but never answers (a network
// partition) must not hold a call past the store's own bound.
func TestServerUnresponsive(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t)
	p := pgtest.NewProxy(t, dsn)
	s := openTest(t, p.DSN())
	// Cut the frozen connections before the store closes them: pgx gives
	// a connection that does not answer 15s to say goodbye.
	t.Cleanup(p.Close)
	storagetest.Seed(t, s)
	p.Freeze()

	ctx := context.Background()
	var wg sync.WaitGroup
	wg.Go(func() { noHang(t, "Ping", func() error { return s.Ping(ctx) }) })
	wg.Go(func() {
		noHang(t, "GetSession", func() error { _, err := s.GetSession(ctx, "s1"); return err })
	})
	wg.Go(func() {
		noHang(t, "RotateRefreshToken", func() error {
			_, err := s.RotateRefreshToken(ctx, "rt", storage.RefreshToken{Hash: "r2", SessionID: "s1"}, nil, time.UnixMilli(1000))
			return err
		})
	})
	wg.Wait()
}

// noHang fails t unless call returns an error wrapping
// storage.ErrUnavailable. The watchdog is far above the store's bounds: it
// only turns a hang into a failure instead of a stuck test binary.
func noHang(t *testing.T, name string, call func() error) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- call() }()
	select {
	case err := <-done:
		if !errors.Is(err, storage.ErrUnavailable) {
			t.Errorf("%s: got %v, want ErrUnavailable", name, err)
		}
	case <-time.After(4 * migrateTimeout):
		t.Fatalf("%s: still running after %v", name, 4*migrateTimeout)
	}
}

// closedPort returns a local address nothing listens on.
func closedPort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
