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

// revocations is this process's view of the revocations that can still
// matter, so that checking an access token needs no database read.
// Revocations made here apply at once; those made by other replicas arrive
// with the next sync (the server polls several times a second).
//
// A revocation matters for as long as something this process accepts
// without asking the database could belong to the session: an access
// token (its exp is at most AccessTTL after its iat, and it may have been
// minted just before the revocation) or a session held in the service's
// session cache (kept at most AccessTTL after it was read, see
// Service.liveSession). So an entry stays for keep = AccessTTL plus
// revocationOverlap (the clock skew and commit delay between the revoking
// replica's revoked_at and this clock), and only revocations of that
// window are ever read: memory and each poll's cost follow the revocations
// of the last AccessTTL, not the months a session may live. Anything
// older is the database's business: a refresh or a redemption reads the
// session row, and rotation checks revocation in its own transaction.
type revocations struct {
	store storage.Sessions
	now   func() time.Time
	// wall is the clock staleness is judged by: this process's real time,
	// not the injected token clock (staleness is about this process's link
	// to the database, not token semantics); a field so tests can drive it.
	wall func() time.Time
	keep time.Duration // how long after its revocation an entry stays

	mu      sync.RWMutex
	revoked map[string]time.Time // session id -> when the entry can go
	// sweep is when the earliest entry can go: polls before it skip the
	// walk over the map (a burst of revocations stays for minutes).
	sweep    time.Time
	cursor   time.Time // this clock's time when the last successful sync began
	lastSync time.Time // by wall: when the last successful sync's query began; zero before the first
}

func newRevocations(store storage.Sessions, now func() time.Time, accessTTL time.Duration) *revocations {
	return &revocations{store: store, now: now, wall: time.Now, keep: accessTTL + revocationOverlap, revoked: map[string]time.Time{}}
}

// sync reads revocations since shortly before the previous sync, never
// further back than keep (on the first call: the last keep), and drops the
// entries whose time has passed. The cursor is this process's own clock,
// never a time another replica wrote: one replica with a fast clock must
// not push everyone's window past revocations stamped by the others.
func (r *revocations) sync(ctx context.Context) error {
	// The list is as of when the query began: staleness counts from then,
	// not from when a slow answer arrived.
	began := r.wall()
	now := r.now()
	since := now.Add(-r.keep)
	r.mu.RLock()
	if c := r.cursor.Add(-revocationOverlap); !r.cursor.IsZero() && c.After(since) {
		since = c
	}
	r.mu.RUnlock()
	list, err := r.store.ListRevokedSessions(ctx, since, now)
	if err != nil {
		return fmt.Errorf("tokens: sync revocations: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range list {
		r.put(s.ID, r.until(s.RevokedAt, s.ExpiresAt))
	}
	r.cursor = now
	if !r.sweep.IsZero() && !r.sweep.After(now) {
		r.sweep = time.Time{}
		for id, until := range r.revoked {
			if !until.After(now) {
				delete(r.revoked, id)
			} else if r.sweep.IsZero() || until.Before(r.sweep) {
				r.sweep = until
			}
		}
	}
	r.lastSync = began
	return nil
}

// until is when the entry of a revocation at revokedAt of a session that
// ends at expires can go: keep after the revocation, or at the session's
// end if sooner (no token outlives its session).
func (r *revocations) until(revokedAt, expires time.Time) time.Time {
	if end := revokedAt.Add(r.keep); end.Before(expires) {
		return end
	}
	return expires
}

// add records a revocation made by this process at now.
func (r *revocations) add(sid string, now, expires time.Time) {
	r.mu.Lock()
	r.put(sid, r.until(now, expires))
	r.mu.Unlock()
}

// put records an entry; r.mu is held.
func (r *revocations) put(sid string, until time.Time) {
	r.revoked[sid] = until
	if r.sweep.IsZero() || until.Before(r.sweep) {
		r.sweep = until
	}
}

// len is the number of entries held.
func (r *revocations) len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.revoked)
}

// check reports whether sid is revoked, or an error when the view is too
// stale to say.
func (r *revocations) check(sid string) (bool, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.lastSync.IsZero() || r.wall().Sub(r.lastSync) > revocationStaleness {
		return false, fmt.Errorf("tokens: revocation list is stale: %w", storage.ErrUnavailable)
	}
	_, revoked := r.revoked[sid]
	return revoked, nil
}
