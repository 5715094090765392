package server

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/socialbroker/broker/internal/config"
	"github.com/socialbroker/broker/storage"
	"github.com/socialbroker/broker/storage/sqlite"
)

// TestChoresRunApart: a chore that takes long (an expiry sweep over a
// backlog) does not hold up the others: the revocation poll must go on, or
// token checks fail closed.
func TestChoresRunApart(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	sweeping, release := make(chan struct{}), make(chan struct{})
	polls := make(chan struct{}, 100)
	done := make(chan struct{})
	go func() {
		defer close(done)
		runChores(ctx,
			chore{time.Millisecond, func(context.Context) {
				select {
				case sweeping <- struct{}{}:
					<-release // a long sweep
				default:
				}
			}},
			chore{time.Millisecond, func(context.Context) {
				select {
				case polls <- struct{}{}:
				default:
				}
			}},
		)
	}()
	<-sweeping
	for range len(polls) { // count only the polls made while the sweep runs
		<-polls
	}
	for range 3 {
		select {
		case <-polls:
		case <-time.After(10 * time.Second):
			t.Fatal("no revocation poll while the sweep runs")
		}
	}
	close(release)
	cancel()
	<-done // and every chore stops with ctx
}

// TestSweepKeepsAuditForItsRetention: the sweep deletes audit events older
// than admin.audit_retention and keeps the rest; 0 keeps them all.
func TestSweepKeepsAuditForItsRetention(t *testing.T) {
	store, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "broker.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	for _, age := range []time.Duration{91 * 24 * time.Hour, 89 * 24 * time.Hour, time.Minute} {
		if _, err := store.AppendAudit(t.Context(), storage.AuditEvent{Time: now.Add(-age), Type: "login.succeeded"}); err != nil {
			t.Fatal(err)
		}
	}
	count := func() int {
		events, err := store.ListAudit(t.Context(), storage.AuditQuery{})
		if err != nil {
			t.Fatal(err)
		}
		return len(events)
	}
	s := &Server{cfg: &config.Config{}, store: store, now: func() time.Time { return now }, log: slog.New(slog.DiscardHandler)}
	s.sweep(t.Context()) // audit_retention = 0: kept for ever
	if n := count(); n != 3 {
		t.Fatalf("retention 0: %d events, want 3", n)
	}
	s.cfg.Admin.AuditRetention.Duration = config.DefaultAuditRetention
	s.sweep(t.Context())
	if n := count(); n != 2 {
		t.Fatalf("after the sweep: %d events, want the 2 younger than 90 days", n)
	}
}
