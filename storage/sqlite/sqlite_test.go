package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/socialbroker/broker/storage"
	"github.com/socialbroker/broker/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store {
		return openTemp(t, filepath.Join(t.TempDir(), "broker.db"))
	})
}

func openTemp(t testing.TB, path string) *Store {
	t.Helper()
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestReopenKeepsDataAndSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "broker.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	u := storage.User{ID: "u1", Name: "One", CreatedAt: time.UnixMilli(1000).UTC()}
	if err := s.CreateUser(t.Context(), u, storage.Identity{Provider: "p", Subject: "1"}); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = openTemp(t, path)
	got, err := s.GetUser(t.Context(), "u1")
	if err != nil || got.Name != "One" {
		t.Fatalf("GetUser after reopen: got %+v, %v; want user One", got, err)
	}
	ms, err := loadMigrations()
	if err != nil {
		t.Fatal(err)
	}
	var rows, version int
	err = s.read.QueryRowContext(t.Context(), `SELECT COUNT(*), MAX(version) FROM schema_migrations`).Scan(&rows, &version)
	if err != nil {
		t.Fatal(err)
	}
	if rows != len(ms) || version != len(ms) {
		t.Fatalf("schema_migrations: got %d rows up to version %d, want %d rows up to %d", rows, version, len(ms), len(ms))
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "broker.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	_, err = s.write.ExecContext(t.Context(), `INSERT INTO schema_migrations (version, applied_at) VALUES (999, 0)`)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()

	s, err = Open(t.Context(), path)
	if err == nil {
		s.Close()
		t.Fatal("Open: got no error, want the newer schema refused")
	}
	ms, _ := loadMigrations()
	if want := fmt.Sprintf("database schema version 999 is newer than this broker (%d)", len(ms)); !strings.Contains(err.Error(), want) {
		t.Fatalf("Open: got error %q, want it to say %q", err, want)
	}
}

func TestOpenRejectsPath(t *testing.T) {
	for _, path := range []string{"", ":memory:", "file:x.db", "x.db?_txlock=deferred"} {
		if s, err := Open(t.Context(), path); err == nil {
			s.Close()
			t.Errorf("Open(%q): got no error, want one", path)
		}
	}
}

func TestClosedStoreUnavailable(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "broker.db"))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	s.Close()
	if err := s.Ping(context.Background()); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("Ping after Close: got %v, want ErrUnavailable", err)
	}
}

// Two stores on one file stand for two broker processes: only SQLite's
// locks order their writers, and BEGIN IMMEDIATE is what keeps a rotation
// from failing with SQLITE_BUSY when both read the token before writing.
func TestRotateAcrossStores(t *testing.T) {
	path := filepath.Join(t.TempDir(), "broker.db")
	a, b := openTemp(t, path), openTemp(t, path)
	storagetest.Seed(t, a)

	const n = 20
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Go(func() {
			<-start
			next := storage.RefreshToken{Hash: fmt.Sprint("next-", i), SessionID: "s1", ExpiresAt: time.UnixMilli(2000)}
			_, errs[i] = s.RotateRefreshToken(t.Context(), "rt", next, nil, time.UnixMilli(1000))
		})
	}
	close(start)
	wg.Wait()

	wins := 0
	for i, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, storage.ErrAlreadyUsed):
			t.Errorf("rotation %d: got %v, want success or ErrAlreadyUsed", i, err)
		}
	}
	if wins != 1 {
		t.Fatalf("got %d successful rotations, want 1", wins)
	}
}

func TestNewFilePrivate(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no unix file modes")
	}
	path := filepath.Join(t.TempDir(), "broker.db")
	openTemp(t, path)
	for _, name := range []string{path, path + "-wal"} {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got&0o077 != 0 {
			t.Errorf("%s: got mode %v, want no access for group and others", filepath.Base(name), got)
		}
	}
}

// TestListRevokedUsesIndex: replicas poll ListRevokedSessions several
// times a second for a short window; with months of revocations stored,
// only the index on revoked_at keeps that a handful of rows.
func TestListRevokedUsesIndex(t *testing.T) {
	s := openTemp(t, filepath.Join(t.TempDir(), "broker.db"))
	rows, err := s.read.QueryContext(t.Context(), "EXPLAIN QUERY PLAN "+listRevoked, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if got := strings.Join(plan, "; "); !strings.Contains(got, "USING INDEX sessions_by_revocation (revoked_at>?)") {
		t.Errorf("plan of ListRevokedSessions: %s, want a search of sessions_by_revocation", got)
	}
}
