// Package audit writes the security events of the audit log (sign-ins,
// refresh-token reuse, logouts) off the request path: a sign-in queues
// its event and goes on; a writer stores queued events in batches, one
// transaction each, so the log costs the hot paths almost nothing. Admin
// changes are written by the admin API itself, in line, since their
// callers must know they were recorded.
package audit

import (
	"context"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/socialbroker/broker/storage"
)

// Event types of the security events (contract, "Audit").
const (
	LoginSucceeded       = "login.succeeded"
	LoginFailed          = "login.failed"
	RefreshReuseDetected = "refresh.reuse_detected"
	Logout               = "logout"
)

// queueSize bounds the events waiting to be written. Beyond it events are
// dropped and counted rather than holding up sign-ins: a database too
// slow to take the audit log must not take the broker down with it.
const queueSize = 4096

// maxBatch bounds one transaction.
const maxBatch = 256

// Recorder queues events for its writer (Run).
type Recorder struct {
	store   storage.Audit
	log     *slog.Logger
	now     func() time.Time
	queue   chan storage.AuditEvent
	dropped atomic.Uint64
}

// NewRecorder returns a Recorder writing to store once Run runs.
func NewRecorder(store storage.Audit, log *slog.Logger, now func() time.Time) *Recorder {
	return &Recorder{store: store, log: log, now: now, queue: make(chan storage.AuditEvent, queueSize)}
}

// Record queues e, stamping its time if it has none. It never blocks. A
// nil Recorder records nothing.
func (r *Recorder) Record(e storage.AuditEvent) {
	if r == nil {
		return
	}
	if e.Time.IsZero() {
		e.Time = r.now()
	}
	select {
	case r.queue <- e:
	default:
		if r.dropped.Add(1) == 1 {
			r.log.Warn("audit queue full: security events are being dropped", "queue", queueSize)
		}
	}
}

// Dropped is how many events were dropped so far.
func (r *Recorder) Dropped() uint64 { return r.dropped.Load() }

// linger is how long the writer waits, after an event, for more to write
// with it. Events are written off the request path, so the wait costs no
// request anything, and under load it turns a commit per sign-in into one
// per few (issue 22: on PostgreSQL a commit is a round trip and a WAL
// flush).
const linger = 10 * time.Millisecond

// Run writes queued events until ctx ends, then what is still queued.
func (r *Recorder) Run(ctx context.Context) {
	batch := make([]storage.AuditEvent, 0, maxBatch)
	for {
		select {
		case e := <-r.queue:
			batch = r.gather(ctx, append(batch[:0], e))
			if ctx.Err() != nil {
				r.drain(ctx, batch)
				return
			}
			r.write(ctx, batch)
		case <-ctx.Done():
			r.drain(ctx, batch[:0])
			return
		}
	}
}

// gather adds to batch what is queued within linger, up to maxBatch.
func (r *Recorder) gather(ctx context.Context, batch []storage.AuditEvent) []storage.AuditEvent {
	t := time.NewTimer(linger)
	defer t.Stop()
	for len(batch) < maxBatch {
		select {
		case e := <-r.queue:
			batch = append(batch, e)
		case <-t.C:
			return batch
		case <-ctx.Done():
			return batch
		}
	}
	return batch
}

// drain writes batch and the last queued events, with a bound of their
// own: a stopping broker still records the sign-ins it served.
func (r *Recorder) drain(ctx context.Context, batch []storage.AuditEvent) {
	flush, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	for batch = r.fill(batch); len(batch) > 0; batch = r.fill(batch[:0]) {
		r.write(flush, batch)
	}
}

// fill adds to batch what is queued, without waiting, up to maxBatch.
func (r *Recorder) fill(batch []storage.AuditEvent) []storage.AuditEvent {
	for len(batch) < maxBatch {
		select {
		case e := <-r.queue:
			batch = append(batch, e)
		default:
			return batch
		}
	}
	return batch
}

func (r *Recorder) write(ctx context.Context, batch []storage.AuditEvent) {
	if err := r.store.AppendAudits(ctx, batch); err != nil {
		r.dropped.Add(uint64(len(batch)))
		r.log.Warn("audit events lost", "events", len(batch), "err", err)
	}
}
