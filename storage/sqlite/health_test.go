package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/socialbroker/broker/storage"
)

// TestWriteHealthDiskFull fills the database (max_page_count: SQLite's
// own "disk full", SQLITE_FULL) and checks that WriteHealth reports the
// failing writes, then clears at the next write that commits.
func TestWriteHealthDiskFull(t *testing.T) {
	s := openTemp(t, filepath.Join(t.TempDir(), "full.db"))
	ctx := t.Context()
	if err := s.exec(ctx, `CREATE TABLE t (v BLOB)`); err != nil {
		t.Fatal(err)
	}
	n0, err := s.WriteHealth()
	if err != nil || n0 == 0 {
		t.Fatalf("WriteHealth after a committed write: %d, %v; want > 0, nil", n0, err)
	}
	var pages int
	if err := s.write.QueryRow(`PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	// The writer's pool is its one connection, where the pragma applies.
	if _, err := s.write.Exec(`PRAGMA max_page_count = ` + strconv.Itoa(pages+2)); err != nil {
		t.Fatal(err)
	}
	var werr error
	for range 100 {
		if werr = s.exec(ctx, `INSERT INTO t (v) VALUES (zeroblob(16000))`); werr != nil {
			break
		}
	}
	if !errors.Is(wrap("insert", werr), storage.ErrUnavailable) {
		t.Fatalf("insert into a full database: %v, want storage.ErrUnavailable", werr)
	}
	if _, err := s.WriteHealth(); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("WriteHealth with the disk full: %v, want storage.ErrUnavailable", err)
	}
	// A job failing on its own terms says nothing about the disk.
	errOwn := errors.New("job's own failure")
	if err := s.inTx(ctx, func(*wtx) error { return errOwn }); !errors.Is(err, errOwn) {
		t.Fatal(err)
	}
	if _, err := s.WriteHealth(); err == nil {
		t.Fatal("a job's own failure cleared the disk-full state")
	}

	if _, err := s.write.Exec(`PRAGMA max_page_count = 1073741823`); err != nil {
		t.Fatal(err)
	}
	if err := s.ProbeWrite(ctx); err != nil {
		t.Fatalf("ProbeWrite with room again: %v", err)
	}
	if n, err := s.WriteHealth(); err != nil || n <= n0 {
		t.Fatalf("WriteHealth after the probe: %d, %v; want > %d, nil", n, err, n0)
	}
	var left int
	if err := s.read.QueryRow(`SELECT count(*) FROM secrets WHERE name = ?`, probeSecret).Scan(&left); err != nil || left != 0 {
		t.Fatalf("probe rows left: %d (%v), want 0", left, err)
	}
}

// holdWriter starts a writer of its own on path, with room for queued
// jobs, and a first job that holds it until the returned func is called.
func holdWriter(t *testing.T, path string, queued int) (*writer, func()) {
	t.Helper()
	db, err := sql.Open("sqlite", writeDSN(path))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	w := newWriter(db, queued)
	hold, held := make(chan struct{}), make(chan struct{})
	go w.do(context.Background(), func(*wtx) error { close(held); <-hold; return nil })
	<-held
	release := sync.OnceFunc(func() { close(hold) })
	t.Cleanup(func() { release(); w.close(); db.Close() })
	return w, release
}

// TestWriterQueueBound: with the writer busy and its queue full, one more
// write fails at once with storage.ErrUnavailable (503 and Retry-After at
// the HTTP level) instead of waiting; the queued ones still commit.
func TestWriterQueueBound(t *testing.T) {
	const k = 3
	w, release := holdWriter(t, filepath.Join(t.TempDir(), "q.db"), k)
	errs := make(chan error, k)
	for i := range k {
		go func() { errs <- w.do(context.Background(), func(*wtx) error { return nil }) }()
		for len(w.jobs) < i+1 {
			time.Sleep(time.Millisecond)
		}
	}
	over := make(chan error, 1)
	go func() { over <- w.do(context.Background(), func(*wtx) error { return nil }) }()
	select {
	case err := <-over:
		if !errors.Is(err, storage.ErrUnavailable) {
			t.Fatalf("write %d with %d queued: %v, want storage.ErrUnavailable", k+1, k, err)
		}
	case <-time.After(10 * time.Second):
		release()
		t.Fatalf("write %d with %d queued waits for the busy writer, want storage.ErrUnavailable at once", k+1, k)
	}
	release()
	for range k {
		if err := <-errs; err != nil {
			t.Errorf("queued write: %v, want committed", err)
		}
	}
}

// TestWriterDropsAbandoned: a caller whose ctx ends while its job is still
// queued returns at once, and the job never runs; the writer's busy job is
// not disturbed.
func TestWriterDropsAbandoned(t *testing.T) {
	w, release := holdWriter(t, filepath.Join(t.TempDir(), "d.db"), 4)
	ctx, cancel := context.WithCancel(t.Context())
	ran := make(chan struct{}, 1)
	done := make(chan error, 1)
	go func() { done <- w.do(ctx, func(*wtx) error { ran <- struct{}{}; return nil }) }()
	for len(w.jobs) < 1 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("abandoned write: %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a caller that gave up still waits for the busy writer")
	}
	release()
	// A later job runs after the abandoned one would have: if that one
	// ran, it ran before this returns.
	if err := w.do(t.Context(), func(*wtx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ran:
		t.Fatal("the writer ran a job whose caller had given up")
	default:
	}
}
