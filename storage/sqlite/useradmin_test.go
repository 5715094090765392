package sqlite

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/socialbroker/broker/storage"
)

// RevokeTenantSessions revokes in batches of sweepBatch: every live
// session of the tenant is revoked however many batches it takes, and
// nothing else.
func TestRevokeTenantSessionsInBatches(t *testing.T) {
	s := openTemp(t, filepath.Join(t.TempDir(), "broker.db"))
	t0 := time.UnixMilli(1_900_000_000_000).UTC()
	u := storage.User{ID: "u1", CreatedAt: t0}
	if err := s.CreateUser(t.Context(), u, storage.Identity{Provider: "p", Subject: "1"}); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	const live = 2*sweepBatch + 1
	// The tenant's live sessions, and as many of another tenant's, in one
	// write.
	err := s.exec(t.Context(), `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
		INSERT INTO sessions (id, user_id, tenant_id, provider, scope, roles, nonce, expires_at)
		SELECT 's' || i, 'u1', CASE WHEN i % 2 = 0 THEN 'acme' ELSE 'globex' END, 'p', '', '[]', '', ? FROM n`,
		2*live, t0.Add(time.Hour).UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	n, err := s.RevokeTenantSessions(t.Context(), "acme", t0)
	if err != nil || n != live {
		t.Fatalf("RevokeTenantSessions: got %d, %v; want %d", n, err, live)
	}
	var acmeAtT0, revoked int
	err = s.read.QueryRowContext(t.Context(), `SELECT COUNT(*) FILTER (WHERE tenant_id = 'acme' AND revoked_at = ?),
		COUNT(revoked_at) FROM sessions`, t0.UnixMilli()).Scan(&acmeAtT0, &revoked)
	if err != nil {
		t.Fatal(err)
	}
	if acmeAtT0 != live || revoked != live {
		t.Fatalf("after RevokeTenantSessions: %d of acme's sessions revoked at now, %d in all; want %d and %d", acmeAtT0, revoked, live, live)
	}
}
