package tokens

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/socialbroker/broker/storage"
	"github.com/socialbroker/broker/storage/postgres"
	"github.com/socialbroker/broker/storage/postgres/pgtest"
)

// slowRevocations answers ListRevokedSessions late, as a busy database
// does (its answer takes 20 ms of the clock it is given), and records when
// each query reached it.
type slowRevocations struct {
	storage.Sessions
	clock *fakeClock
	asked time.Time
}

func (s *slowRevocations) ListRevokedSessions(context.Context, time.Time, time.Time) ([]storage.RevokedSession, error) {
	s.asked = s.clock.Now()
	s.clock.Advance(20 * time.Millisecond)
	return nil, nil
}

// TestRevocationsStaleFromQueryStart: the revocation view is as old as the
// query that filled it, not as the moment its answer came: a slow answer
// must not stretch how long a replica goes on trusting it.
func TestRevocationsStaleFromQueryStart(t *testing.T) {
	wall := newClock()
	store := &slowRevocations{clock: wall}
	r := newRevocations(store, time.Now, time.Minute)
	r.wall = wall.Now
	if err := r.sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	if r.lastSync.IsZero() || r.lastSync.After(store.asked) {
		t.Errorf("view dated %v, after the query reached the database at %v", r.lastSync, store.asked)
	}
	// Stale once revocationStaleness has passed since the query began,
	// whatever the answer's delay.
	wall.Advance(revocationStaleness - 20*time.Millisecond)
	if _, err := r.check("sid"); err != nil {
		t.Errorf("check just within the staleness bound: %v", err)
	}
	wall.Advance(time.Millisecond)
	if _, err := r.check("sid"); !errors.Is(err, storage.ErrUnavailable) {
		t.Errorf("check past the staleness bound: %v, want ErrUnavailable", err)
	}
}

// countingSessions counts the rows ListRevokedSessions returns and records
// the since of each call.
type countingSessions struct {
	storage.Sessions
	rows  int
	since []time.Time
}

func (c *countingSessions) ListRevokedSessions(ctx context.Context, since, now time.Time) ([]storage.RevokedSession, error) {
	list, err := c.Sessions.ListRevokedSessions(ctx, since, now)
	c.rows += len(list)
	c.since = append(c.since, since)
	return list, err
}

// bulkRevocations is how many long-ago revocations the view tests store:
// a month of a busy broker's logouts.
const bulkRevocations = 200_000

// TestRevocationViewHoldsOnlyRecent: a store holding 200,000 revocations of
// the last 30 days, of sessions that have not ended, and a few of the
// last minutes. A replica's first sync reads only the recent ones, and
// its view holds only them; once their time passes, the view is empty.
// Before issue 14 the view held every revocation of a live session (up to
// refresh_max_ttl, 90 days), and the first sync read them all.
func TestRevocationViewHoldsOnlyRecent(t *testing.T) {
	const recent = 100
	for _, backend := range []struct {
		name string
		open func(t *testing.T) (storage.Sessions, func(oldN, recentN int, now time.Time))
	}{
		{"sqlite", openBulkSQLite},
		{"postgres", openBulkPostgres},
	} {
		t.Run(backend.name, func(t *testing.T) {
			if testing.Short() {
				t.Skip("bulk insert of 200,000 sessions")
			}
			store, fill := backend.open(t)
			clock := newClock()
			cfg := testConfig(clock)
			fill(bulkRevocations, recent, clock.Now())

			counted := &countingSessions{Sessions: store}
			svc, err := NewService(storeWith{counted}, nil, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := svc.SyncRevocations(t.Context()); err != nil {
				t.Fatal(err)
			}
			if got := svc.revoked.len(); got != recent {
				t.Errorf("view after the first sync: %d entries, want the %d recent ones (of %d revoked)", got, recent, bulkRevocations+recent)
			}
			if counted.rows != recent {
				t.Errorf("first sync read %d rows, want %d", counted.rows, recent)
			}
			if want := clock.Now().Add(-cfg.AccessTTL - revocationOverlap); !counted.since[0].Equal(want) {
				t.Errorf("first sync asked since %v, want %v", counted.since[0], want)
			}

			// Polls go on reading the overlap only.
			clock.Advance(time.Second)
			counted.rows = 0
			if err := svc.SyncRevocations(t.Context()); err != nil {
				t.Fatal(err)
			}
			if got := svc.revoked.len(); got != recent {
				t.Errorf("view after a poll: %d entries, want %d", got, recent)
			}

			// Once no access token of theirs can be alive, they leave too.
			clock.Advance(cfg.AccessTTL + revocationOverlap)
			if err := svc.SyncRevocations(t.Context()); err != nil {
				t.Fatal(err)
			}
			if got := svc.revoked.len(); got != 0 {
				t.Errorf("view after AccessTTL+overlap: %d entries, want 0", got)
			}
		})
	}
}

// storeWith is a Store whose Sessions are s; the rest is never called.
type storeWith struct{ storage.Sessions }

func (storeWith) RevokeSSOSession(context.Context, string, time.Time) ([]string, error) {
	return nil, errors.ErrUnsupported
}
func (storeWith) GetCode(context.Context, string) (storage.AuthCode, error) {
	return storage.AuthCode{}, errors.ErrUnsupported
}
func (storeWith) RedeemCode(context.Context, string, time.Time, storage.RefreshToken) (storage.AuthCode, error) {
	return storage.AuthCode{}, errors.ErrUnsupported
}
func (storeWith) GetRefreshToken(context.Context, string) (storage.RefreshToken, error) {
	return storage.RefreshToken{}, errors.ErrUnsupported
}
func (storeWith) ReplaceSuccessor(context.Context, string, string, storage.RefreshToken, []byte, time.Time) error {
	return errors.ErrUnsupported
}
func (storeWith) RotateRefreshToken(context.Context, string, storage.RefreshToken, []byte, time.Time) (storage.RefreshToken, error) {
	return storage.RefreshToken{}, errors.ErrUnsupported
}
func (storeWith) GetUser(context.Context, string) (storage.User, error) {
	return storage.User{}, errors.ErrUnsupported
}

// Where the bulk rows go: oldN revoked evenly over the 30 days before
// now-1h, recentN in the minute before now; every session ends 90 days
// after its revocation, so none has ended.
const (
	bulkSpan = 30 * 24 * time.Hour
	bulkLife = 90 * 24 * time.Hour
)

func openBulkSQLite(t *testing.T) (storage.Sessions, func(oldN, recentN int, now time.Time)) {
	store, path := newStore(t)
	return store, func(oldN, recentN int, now time.Time) {
		db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		insert := func(prefix string, n int, first time.Time, step time.Duration) {
			_, err := db.ExecContext(t.Context(), `
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ?1)
INSERT INTO sessions (id, user_id, tenant_id, provider, scope, roles, nonce, auth_time, created_at, expires_at, revoked_at)
SELECT ?2 || i, 'user-1', 'app', 'google', 'openid', '[]', '', ?3, ?3, ?3 + ?4 + i * ?5, ?3 + i * ?5 FROM n`,
				n, prefix, first.UnixMilli(), bulkLife.Milliseconds(), step.Milliseconds())
			if err != nil {
				t.Fatalf("bulk insert: %v", err)
			}
		}
		if _, err := db.ExecContext(t.Context(), `INSERT INTO users (id, name, email, email_verified, picture, created_at, updated_at) VALUES ('user-1', '', '', 0, '', 0, 0)`); err != nil {
			t.Fatalf("insert user: %v", err)
		}
		insert("old-", oldN, now.Add(-time.Hour-bulkSpan), bulkSpan/time.Duration(oldN))
		insert("recent-", recentN, now.Add(-time.Minute), time.Minute/time.Duration(recentN))
	}
}

func openBulkPostgres(t *testing.T) (storage.Sessions, func(oldN, recentN int, now time.Time)) {
	dsn := pgtest.DSN(t)
	store, err := postgres.Open(t.Context(), dsn)
	if err != nil {
		t.Fatalf("postgres.Open: %v", err)
	}
	t.Cleanup(func() { store.Close() })
	return store, func(oldN, recentN int, now time.Time) {
		conn, err := pgx.Connect(t.Context(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		insert := func(prefix string, n int, first time.Time, step time.Duration) {
			_, err := conn.Exec(t.Context(), `
INSERT INTO sessions (id, user_id, tenant_id, provider, scope, roles, nonce, auth_time, created_at, expires_at, revoked_at)
SELECT $1::text || i, 'user-1', 'app', 'google', 'openid', '{}', '', $2::timestamptz, $2::timestamptz,
	$2::timestamptz + $3::interval + i * $4::interval, $2::timestamptz + i * $4::interval
FROM generate_series(0, $5::int - 1) AS i`,
				prefix, first, bulkLife, step, n)
			if err != nil {
				t.Fatalf("bulk insert: %v", err)
			}
		}
		if _, err := conn.Exec(t.Context(), `INSERT INTO users (id, name, email, email_verified, picture, created_at, updated_at) VALUES ('user-1', '', '', false, '', now(), now())`); err != nil {
			t.Fatalf("insert user: %v", err)
		}
		insert("old-", oldN, now.Add(-time.Hour-bulkSpan), bulkSpan/time.Duration(oldN))
		insert("recent-", recentN, now.Add(-time.Minute), time.Minute/time.Duration(recentN))
		if _, err := conn.Exec(t.Context(), `ANALYZE sessions`); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRevokedLongAgo: a session revoked on another replica, whose
// revocation has left this replica's view (AccessTTL and the overlap
// later), is refused on every path, whatever this replica still holds in
// memory. The code path matters most: RedeemCode does not look at the
// session, and the session of a code issued here sits in the session
// cache, so without a bound on that cache a code that outlives the view
// (code_ttl may exceed access_ttl) would start a revoked session.
func TestRevokedLongAgo(t *testing.T) {
	f := newServiceFixture(t)
	cfg := testConfig(f.clock)
	cfg.AccessTTL, cfg.CodeTTL = time.Minute, 5*time.Minute
	keep := cfg.AccessTTL + revocationOverlap
	svc, err := NewService(f.store, f.keys, cfg)
	if err != nil {
		t.Fatal(err)
	}
	sync := func() {
		t.Helper()
		if err := svc.SyncRevocations(t.Context()); err != nil {
			t.Fatalf("SyncRevocations: %v", err)
		}
	}
	issue := func() (code, sid string) {
		t.Helper()
		code, sid, err := svc.IssueCode(t.Context(), CodeGrant{
			UserID: f.user.ID, TenantID: testClient, Provider: "google", Scope: "openid", RedirectURI: testRedirect,
			CodeChallenge: S256Challenge(testVerifier),
		})
		if err != nil {
			t.Fatalf("IssueCode: %v", err)
		}
		return code, sid
	}
	exchange := func(code string) (*Grant, error) {
		return svc.ExchangeCode(t.Context(), CodeExchange{Code: code, ClientID: testClient, RedirectURI: testRedirect, Verifier: testVerifier})
	}
	revokeElsewhere := func(sid string) time.Time {
		t.Helper()
		at := f.clock.Now()
		if err := f.store.RevokeSession(t.Context(), sid, at); err != nil {
			t.Fatalf("RevokeSession: %v", err)
		}
		sync()
		return at
	}
	sync()

	t.Run("code", func(t *testing.T) {
		code, sid := issue()
		revokeElsewhere(sid)
		f.clock.Advance(keep + time.Second) // the code lives on: code_ttl > access_ttl
		sync()
		if n := svc.revoked.len(); n != 0 {
			t.Fatalf("view holds %d entries, want 0", n)
		}
		_, err := exchange(code)
		wantOAuthErr(t, "ExchangeCode of a session revoked long ago", err, "invalid_grant")
	})

	t.Run("tokens", func(t *testing.T) {
		code, sid := issue()
		g, err := exchange(code)
		if err != nil {
			t.Fatalf("ExchangeCode: %v", err)
		}
		revokedAt := revokeElsewhere(sid)

		// The access token, minted just before the revocation, is alive
		// until its exp: the view must still hold the revocation.
		f.clock.Advance(cfg.AccessTTL - time.Second)
		sync()
		if _, err := svc.Verify(t.Context(), g.AccessToken); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("Verify a second before exp: got %v, want %v", err, ErrInvalidToken)
		}

		f.clock.Advance(keep)
		sync()
		if n := svc.revoked.len(); n != 0 {
			t.Fatalf("view holds %d entries, want 0", n)
		}
		if _, err := svc.Verify(t.Context(), g.AccessToken); err == nil {
			t.Error("Verify after the view let go: accepted")
		}
		_, err = svc.Refresh(t.Context(), g.RefreshToken, allow)
		wantOAuthErr(t, "Refresh of a session revoked long ago", err, "invalid_grant")

		// Revoking it again changes nothing, and its first time stays.
		if _, err := svc.RevokeRefreshToken(t.Context(), g.RefreshToken, allow); err != nil {
			t.Errorf("RevokeRefreshToken: %v", err)
		}
		sess, err := f.store.GetSession(t.Context(), sid)
		if err != nil {
			t.Fatal(err)
		}
		if !sess.RevokedAt.Equal(revokedAt) {
			t.Errorf("RevokedAt = %v, want the first revocation %v", sess.RevokedAt, revokedAt)
		}
		_, err = svc.Refresh(t.Context(), g.RefreshToken, allow)
		wantOAuthErr(t, "Refresh after RevokeRefreshToken", err, "invalid_grant")
	})
}

// listedSessions answers ListRevokedSessions from a fixed list, as the
// contract says: revoked at or after since, unexpired at now.
type listedSessions struct {
	storage.Sessions
	list []storage.RevokedSession
}

func (l *listedSessions) ListRevokedSessions(_ context.Context, since, now time.Time) ([]storage.RevokedSession, error) {
	var out []storage.RevokedSession
	for _, s := range l.list {
		if !s.RevokedAt.Before(since) && s.ExpiresAt.After(now) {
			out = append(out, s)
		}
	}
	return out, nil
}

// TestRevocationsLeaveInTime: each entry stays keep after its revocation,
// or until its session ends if sooner, and not a poll longer.
func TestRevocationsLeaveInTime(t *testing.T) {
	clock := newClock()
	const ttl = time.Minute
	keep := ttl + revocationOverlap
	store := &listedSessions{list: []storage.RevokedSession{
		{ID: "a", RevokedAt: t0.Add(-10 * time.Second), ExpiresAt: t0.Add(time.Hour)},
		{ID: "b", RevokedAt: t0.Add(-5 * time.Second), ExpiresAt: t0.Add(20 * time.Second)}, // ends first
		{ID: "c", RevokedAt: t0, ExpiresAt: t0.Add(time.Hour)},
		{ID: "old", RevokedAt: t0.Add(-keep - time.Second), ExpiresAt: t0.Add(time.Hour)},
	}}
	r := newRevocations(store, clock.Now, ttl)
	for _, step := range []struct {
		at   time.Duration
		want []string
	}{
		{0, []string{"a", "b", "c"}},
		{20 * time.Second, []string{"a", "c"}},
		{keep - 10*time.Second - time.Millisecond, []string{"a", "c"}},
		{keep - 10*time.Second, []string{"c"}},
		{keep - time.Millisecond, []string{"c"}},
		{keep, nil},
	} {
		clock.Set(step.at)
		if err := r.sync(t.Context()); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, id := range []string{"a", "b", "c", "old"} {
			if revoked, _ := r.check(id); revoked {
				got = append(got, id)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(step.want) || r.len() != len(step.want) {
			t.Errorf("at t0+%v: revoked %v (%d entries), want %v", step.at, got, r.len(), step.want)
		}
	}
}

// TestVerifyRefusesTokensOlderThanAccessTTL: after access_ttl is lowered
// (a rolling change), a token minted under the longer one may outlive
// what the revocation view remembers; it is refused once it is older than
// this replica's access_ttl, revoked or not, so a long-revoked session's
// token cannot pass.
func TestVerifyRefusesTokensOlderThanAccessTTL(t *testing.T) {
	f := newServiceFixture(t)
	g := f.login(t, "openid") // access_ttl 15m
	cfg := testConfig(f.clock)
	cfg.AccessTTL = time.Minute
	short, err := NewService(f.store, f.keys, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := verify(t, short, g.AccessToken); err != nil {
		t.Fatalf("Verify of a fresh token: %v", err)
	}
	if err := f.store.RevokeSession(t.Context(), g.Session.ID, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(cfg.AccessTTL + revocationOverlap + time.Second)
	if _, err := verify(t, short, g.AccessToken); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("Verify of a 15m token of a session revoked %v ago, on a replica with access_ttl %v: got %v, want %v",
			cfg.AccessTTL+revocationOverlap+time.Second, cfg.AccessTTL, err, ErrInvalidToken)
	}
}
