package tokens

import (
	"context"
	"testing"
	"time"

	"github.com/socialbroker/broker/storage"
)

// slowRevocations answers ListRevokedSessions late, as a busy database
// does, and records when each query reached it.
type slowRevocations struct {
	storage.Sessions
	asked time.Time
}

func (s *slowRevocations) ListRevokedSessions(context.Context, time.Time, time.Time) ([]storage.RevokedSession, error) {
	s.asked = time.Now()
	time.Sleep(20 * time.Millisecond)
	return nil, nil
}

// TestRevocationsStaleFromQueryStart: the revocation view is as old as the
// query that filled it, not as the moment its answer came: a slow answer
// must not stretch how long a replica goes on trusting it.
func TestRevocationsStaleFromQueryStart(t *testing.T) {
	store := &slowRevocations{}
	r := newRevocations(store, time.Now)
	if err := r.sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	if r.lastSync.IsZero() || r.lastSync.After(store.asked) {
		t.Errorf("view dated %v, after the query reached the database at %v", r.lastSync, store.asked)
	}
}
