package sqlite

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
)

// TestGroupCommit: many transactions at once, some failing after their
// write: each failing one leaves no trace, each succeeding one stays.
func TestGroupCommit(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "w.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.exec(t.Context(), `CREATE TABLE t (k TEXT PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	errOdd := errors.New("odd jobs fail")
	const n = 200
	var wg sync.WaitGroup
	results := make([]error, n)
	for i := range n {
		wg.Go(func() {
			results[i] = s.inTx(t.Context(), func(tx *wtx) error {
				if _, err := tx.ExecContext(t.Context(), `INSERT INTO t (k) VALUES (?)`, fmt.Sprint(i)); err != nil {
					return err
				}
				if i%2 == 1 {
					return errOdd // after its write: the write must be undone
				}
				return nil
			})
		})
	}
	wg.Wait()
	for i, err := range results {
		if want := (i%2 == 1); errors.Is(err, errOdd) != want || (!want && err != nil) {
			t.Fatalf("job %d: %v", i, err)
		}
	}
	var count int
	if err := s.read.QueryRow(`SELECT count(*) FROM t`).Scan(&count); err != nil || count != n/2 {
		t.Fatalf("rows = %d (%v), want %d: failed jobs must leave nothing, others everything", count, err, n/2)
	}
}

// TestWriterSkipsCancelled: a job whose context ended before it ran does
// nothing and reports the context's error.
func TestWriterSkipsCancelled(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "w.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	ran := false
	err = s.inTx(ctx, func(*wtx) error { ran = true; return nil })
	if !errors.Is(err, context.Canceled) || ran {
		t.Fatalf("cancelled job: err %v, ran %v", err, ran)
	}
	s.Close()
	if err := s.exec(t.Context(), `SELECT 1`); !errors.Is(err, errClosed) {
		t.Fatalf("write after Close: %v, want errClosed", err)
	}
}
