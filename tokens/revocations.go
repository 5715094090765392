package tokens

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/socialbroker/broker/storage"
)

// revocationOverlap is how far before the previous sync each poll looks.
// Revocation times come from the revoking replica's clock and commit in
// any order, so "since the last poll" must reach back past clock skew
// between replicas and slow commits; a revocation stamped more than this
// behind the poller's clock would be missed. Re-reading is cheap: only
// revocations of the window come back, a handful of rows.
const revocationOverlap = MaxClockSkew

// revocationStaleness is how old the last successful sync may be before
// verification fails closed: past it, this replica could be accepting a
// session another replica has revoked.
const revocationStaleness = 5 * time.Second

// revocations is this process's view of revoked, unexpired sessions, so
// that checking an access token needs no database read. Revocations made
// here apply at once; those made by other replicas arrive with the next
// sync (the server polls several times a second).
type revocations struct {
	store storage.Sessions
	now   func() time.Time

	mu      sync.RWMutex
	revoked map[string]time.Time // session id -> session expiry (when the entry can go)
	cursor  time.Time            // this clock's time when the last successful sync began
	// lastSync is wall-clock time (not the injected clock): staleness is
	// about this process's link to the database, not token semantics.
	lastSync time.Time // when the last successful sync's query began; zero before the first
}

func newRevocations(store storage.Sessions, now func() time.Time) *revocations {
	return &revocations{store: store, now: now, revoked: map[string]time.Time{}}
}

// sync reads revocations since shortly before the previous sync (all
// unexpired ones on the first call) and drops entries whose session has
// expired anyway. The cursor is this process's own clock, never a time
// another replica wrote: one replica with a fast clock must not push
// everyone's window past revocations stamped by the others.
func (r *revocations) sync(ctx context.Context) error {
	// The list is as of when the query began: staleness counts from then,
	// not from when a slow answer arrived.
	began := time.Now()
	now := r.now()
	r.mu.RLock()
	since := r.cursor
	if !since.IsZero() {
		since = since.Add(-revocationOverlap)
	}
	r.mu.RUnlock()
	list, err := r.store.ListRevokedSessions(ctx, since, now)
	if err != nil {
		return fmt.Errorf("tokens: sync revocations: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range list {
		r.revoked[s.ID] = s.ExpiresAt
	}
	r.cursor = now
	for id, exp := range r.revoked {
		if !exp.After(now) {
			delete(r.revoked, id)
		}
	}
	r.lastSync = began
	return nil
}

// add records a revocation made by this process.
func (r *revocations) add(sid string, expires time.Time) {
	r.mu.Lock()
	r.revoked[sid] = expires
	r.mu.Unlock()
}

// check reports whether sid is revoked, or an error when the view is too
// stale to say.
func (r *revocations) check(sid string) (bool, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.lastSync.IsZero() || time.Since(r.lastSync) > revocationStaleness {
		return false, fmt.Errorf("tokens: revocation list is stale: %w", storage.ErrUnavailable)
	}
	_, revoked := r.revoked[sid]
	return revoked, nil
}
