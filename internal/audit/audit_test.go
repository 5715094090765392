package audit

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/socialbroker/broker/storage"
)

// memAudit collects what it is asked to store; it can be told to fail or
// to hold writes until released.
type memAudit struct {
	storage.Audit
	mu      sync.Mutex
	batches [][]storage.AuditEvent
	fail    bool
	hold    chan struct{}
}

func (m *memAudit) AppendAudits(_ context.Context, events []storage.AuditEvent) error {
	if m.hold != nil {
		<-m.hold
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail {
		return storage.ErrUnavailable
	}
	m.batches = append(m.batches, append([]storage.AuditEvent(nil), events...))
	return nil
}

func (m *memAudit) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, b := range m.batches {
		n += len(b)
	}
	return n
}

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

func newRecorder(m *memAudit) *Recorder {
	return NewRecorder(m, slog.New(slog.DiscardHandler), func() time.Time { return t0 })
}

// Events queued while the writer is busy go in one batch, in order;
// what is queued when the broker stops is still written.
func TestRecorderBatchesAndFlushes(t *testing.T) {
	m := &memAudit{hold: make(chan struct{})}
	r := newRecorder(m)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	r.Record(storage.AuditEvent{Type: LoginSucceeded})
	time.Sleep(20 * time.Millisecond) // the writer takes it and waits on hold
	for range 10 {
		r.Record(storage.AuditEvent{Type: Logout})
	}
	close(m.hold)
	for m.count() < 11 {
		time.Sleep(time.Millisecond)
	}
	r.Record(storage.AuditEvent{Type: LoginFailed, Time: t0.Add(time.Hour)})
	cancel()
	<-done
	if n := m.count(); n != 12 {
		t.Fatalf("%d events stored, want 12", n)
	}
	if len(m.batches) > 3 {
		t.Errorf("%d batches for 12 events written in three goes", len(m.batches))
	}
	first, last := m.batches[0][0], m.batches[len(m.batches)-1]
	if first.Time != t0 || last[len(last)-1].Time != t0.Add(time.Hour) {
		t.Errorf("times: %v, %v; want stamped now, or kept when given", first.Time, last[len(last)-1].Time)
	}
}

// A full queue drops and counts instead of blocking the caller; a failed
// write counts its events as lost.
func TestRecorderNeverBlocks(t *testing.T) {
	m := &memAudit{fail: true}
	r := newRecorder(m)
	for range queueSize + 5 {
		r.Record(storage.AuditEvent{Type: Logout})
	}
	if r.Dropped() != 5 {
		t.Fatalf("Dropped = %d, want 5", r.Dropped())
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	r.Run(ctx) // flushes: every write fails
	if r.Dropped() != queueSize+5 {
		t.Fatalf("Dropped = %d after failed writes, want %d", r.Dropped(), queueSize+5)
	}
	var nilRecorder *Recorder
	nilRecorder.Record(storage.AuditEvent{}) // records nothing, and does not panic
}

// Events recorded together are written together, even when the writer is
// idle: it lingers after the first for the others.
func TestRecorderLingers(t *testing.T) {
	m := &memAudit{}
	r := newRecorder(m)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	for range 6 {
		r.Record(storage.AuditEvent{Type: LoginSucceeded})
	}
	for m.count() < 6 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	if len(m.batches) > 2 {
		t.Errorf("6 events recorded at once written in %d batches, want 1 (2 at worst)", len(m.batches))
	}
}
