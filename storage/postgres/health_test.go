package postgres

import (
	"context"
	"errors"
	"testing"

	"github.com/socialbroker/broker/storage"
	"github.com/socialbroker/broker/storage/postgres/pgtest"
)

// TestWriteHealth: a statement refused for lack of disk (53100, raised
// here as PostgreSQL raises it when it cannot extend a file) marks writes
// failing; successful reads and a cancelled request do not clear the mark;
// a write that commits (a WITH ... UPDATE tagged SELECT, the probe) does.
func TestWriteHealth(t *testing.T) {
	s := openTest(t, pgtest.DSN(t))
	ctx := t.Context()
	if err := s.ProbeWrite(ctx); err != nil {
		t.Fatalf("ProbeWrite: %v", err)
	}
	n0, err := s.WriteHealth()
	if err != nil || n0 == 0 {
		t.Fatalf("WriteHealth after a write: %d, %v; want > 0, nil", n0, err)
	}

	_, err = s.pool.Exec(ctx, `DO $$ BEGIN RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = 'disk_full'; END $$`)
	if err == nil {
		t.Fatal("the simulated disk-full statement succeeded")
	}
	if _, err := s.WriteHealth(); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("WriteHealth after disk_full: %v, want storage.ErrUnavailable", err)
	}
	var one int
	if err := s.pool.QueryRow(ctx, `SELECT 1`).Scan(&one); err != nil {
		t.Fatal(err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, _ = s.pool.Exec(cancelled, `UPDATE secrets SET created_at = created_at`)
	if _, err := s.WriteHealth(); err == nil {
		t.Fatal("a read or a cancelled request cleared the disk-full mark")
	}

	// A write whose command tag is SELECT (as the refresh rotation's).
	if _, err := s.pool.Exec(ctx, `WITH u AS (UPDATE secrets SET created_at = created_at WHERE name = 'none' RETURNING name) SELECT count(*) FROM u`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.WriteHealth(); err != nil {
		t.Fatalf("WriteHealth after a WITH ... UPDATE committed: %v, want nil", err)
	}

	_, _ = s.pool.Exec(ctx, `DO $$ BEGIN RAISE EXCEPTION 'could not extend file' USING ERRCODE = 'disk_full'; END $$`)
	if _, err := s.WriteHealth(); err == nil {
		t.Fatal("disk_full again: WriteHealth nil")
	}
	if err := s.ProbeWrite(ctx); err != nil {
		t.Fatalf("ProbeWrite: %v", err)
	}
	if n, err := s.WriteHealth(); err != nil || n <= n0 {
		t.Fatalf("WriteHealth after the probe: %d, %v; want > %d, nil", n, err, n0)
	}

	// A lost connection is cleared by any statement that succeeds.
	_, _ = s.pool.Exec(ctx, `DO $$ BEGIN RAISE EXCEPTION 'connection failure' USING ERRCODE = 'connection_failure'; END $$`)
	if _, err := s.WriteHealth(); err == nil {
		t.Fatal("connection_failure: WriteHealth nil")
	}
	if err := s.pool.QueryRow(ctx, `SELECT 1`).Scan(&one); err != nil {
		t.Fatal(err)
	}
	if n, err := s.WriteHealth(); err != nil || n <= n0 {
		t.Fatalf("WriteHealth after the probe: %d, %v; want > %d, nil", n, err, n0)
	}
	var left int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM secrets WHERE name = $1`, probeSecret).Scan(&left); err != nil || left != 0 {
		t.Fatalf("probe rows left: %d (%v), want 0", left, err)
	}
}
