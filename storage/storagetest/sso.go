package storagetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/socialbroker/broker/storage"
)

func ssoSession(id, secret string) storage.SSOSession {
	return storage.SSOSession{
		ID: id, SecretHash: secret, UserID: "user-" + id, Provider: "google",
		Facts: []byte{1, 0, 0, 0}, GroupsKnown: true,
		AuthTime: t0, CreatedAt: t0, IdleExpiresAt: t0.Add(8 * time.Hour), ExpiresAt: t0.Add(24 * time.Hour),
	}
}

func testSSOSession(t *testing.T, s storage.Store) {
	ctx := t.Context()
	b := ssoSession("b1", "secret-1")
	wantErr(t, "PutSSOSession", s.PutSSOSession(ctx, b), nil)
	got, err := s.GetSSOSession(ctx, "secret-1")
	wantErr(t, "GetSSOSession", err, nil)
	mustEqual(t, "GetSSOSession", got, b)
	_, err = s.GetSSOSession(ctx, "unknown")
	wantErr(t, "GetSSOSession(unknown)", err, storage.ErrNotFound)

	other := ssoSession("b2", "secret-1")
	wantErr(t, "PutSSOSession(another's secret)", s.PutSSOSession(ctx, other), storage.ErrAlreadyExists)

	// A trip upstream rotates the secret; the old one is worthless after,
	// and the session's user and start stay.
	rotated := b
	rotated.SecretHash, rotated.Provider, rotated.GroupsKnown = "secret-2", "github", false
	rotated.AuthTime, rotated.IdleExpiresAt, rotated.ExpiresAt = t0.Add(time.Hour), t0.Add(9*time.Hour), t0.Add(25*time.Hour)
	sneaky := rotated
	sneaky.UserID, sneaky.CreatedAt = "someone-else", t0.Add(time.Hour)
	wantErr(t, "PutSSOSession(rotate)", s.PutSSOSession(ctx, sneaky), nil)
	_, err = s.GetSSOSession(ctx, "secret-1")
	wantErr(t, "GetSSOSession(old secret)", err, storage.ErrNotFound)
	got, err = s.GetSSOSession(ctx, "secret-2")
	wantErr(t, "GetSSOSession(new secret)", err, nil)
	mustEqual(t, "GetSSOSession after rotation", got, rotated)

	rotated.IdleExpiresAt = t0.Add(10 * time.Hour)
	wantErr(t, "TouchSSOSession", s.TouchSSOSession(ctx, "b1", rotated.IdleExpiresAt), nil)
	got, _ = s.GetSSOSession(ctx, "secret-2")
	mustEqual(t, "GetSSOSession after touch", got, rotated)
	wantErr(t, "TouchSSOSession(unknown)", s.TouchSSOSession(ctx, "unknown", t0), storage.ErrNotFound)

	ended, err := s.RevokeSSOSession(ctx, "b1", t0.Add(2*time.Hour))
	wantErr(t, "RevokeSSOSession", err, nil)
	mustEqual(t, "app sessions ended with a broker session that started none", len(ended), 0)
	wantErr(t, "TouchSSOSession(revoked)", s.TouchSSOSession(ctx, "b1", t0.Add(11*time.Hour)), storage.ErrNotFound)
	revived := rotated
	revived.SecretHash = "secret-3"
	wantErr(t, "PutSSOSession(revoked)", s.PutSSOSession(ctx, revived), storage.ErrRevoked)
	got, _ = s.GetSSOSession(ctx, "secret-2")
	rotated.RevokedAt = t0.Add(2 * time.Hour)
	mustEqual(t, "GetSSOSession after revocation", got, rotated)
	_, err = s.RevokeSSOSession(ctx, "unknown", t0)
	wantErr(t, "RevokeSSOSession(unknown)", err, storage.ErrNotFound)

	// Expired broker sessions are swept.
	old := ssoSession("b3", "secret-old")
	old.ExpiresAt = t0.Add(time.Minute)
	wantErr(t, "PutSSOSession(old)", s.PutSSOSession(ctx, old), nil)
	if _, err := s.DeleteExpired(ctx, t0.Add(time.Minute)); err != nil {
		t.Fatalf("DeleteExpired: %v", err)
	}
	_, err = s.GetSSOSession(ctx, "secret-old")
	wantErr(t, "GetSSOSession(swept)", err, storage.ErrNotFound)
}

// Ending a broker session ends the app sessions started from it, and only
// those, each queueing one back-channel logout.
func testRevokeSSOSession(t *testing.T, s storage.Store) {
	ctx := t.Context()
	wantErr(t, "PutSSOSession", s.PutSSOSession(ctx, ssoSession("b1", "secret-1")), nil)
	a := session(t, s, "a", t0.Add(time.Hour))
	a.SSOID = "b1"
	wantErr(t, "CreateSession(a)", s.CreateSession(ctx, storage.NewSession{Session: a}), nil)
	got, err := s.GetSession(ctx, "a")
	wantErr(t, "GetSession(a)", err, nil)
	mustEqual(t, "GetSession(a)", got, a)
	bs := session(t, s, "b", t0.Add(time.Hour))
	bs.SSOID = "b1"
	wantErr(t, "CreateSession(b)", s.CreateSession(ctx, storage.NewSession{Session: bs}), nil)
	gone := session(t, s, "gone", t0.Add(time.Hour))
	gone.SSOID = "b1"
	wantErr(t, "CreateSession(gone)", s.CreateSession(ctx, storage.NewSession{Session: gone}), nil)
	wantErr(t, "RevokeSession(gone)", s.RevokeSession(ctx, "gone", t0.Add(time.Minute)), nil)
	newSession(t, s, "unrelated", t0.Add(time.Hour))

	at := t0.Add(2 * time.Minute)
	ended, err := s.RevokeSSOSession(ctx, "b1", at)
	wantErr(t, "RevokeSSOSession", err, nil)
	if len(ended) != 2 || !(ended[0] == "a" && ended[1] == "b" || ended[0] == "b" && ended[1] == "a") {
		t.Fatalf("RevokeSSOSession ended %v, want a and b", ended)
	}
	for id, want := range map[string]time.Time{"a": at, "b": at, "gone": t0.Add(time.Minute), "unrelated": {}} {
		got, err := s.GetSession(ctx, id)
		wantErr(t, "GetSession("+id+")", err, nil)
		mustEqual(t, "RevokedAt of "+id, got.RevokedAt, want)
	}
	ended, err = s.RevokeSSOSession(ctx, "b1", at.Add(time.Minute))
	wantErr(t, "RevokeSSOSession(again)", err, nil)
	mustEqual(t, "sessions ended by a second revocation", len(ended), 0)

	ds, err := s.ClaimLogouts(ctx, at, at.Add(time.Minute), 10)
	wantErr(t, "ClaimLogouts", err, nil)
	sessions := map[string]int{}
	for _, d := range ds {
		sessions[d.SessionID]++
	}
	mustEqual(t, "logouts queued", sessions, map[string]int{"a": 1, "b": 1, "gone": 1})
}

// Every path that revokes an app session queues its logout, once.
func testLogoutOutbox(t *testing.T, s storage.Store) {
	ctx := t.Context()
	sess := newSession(t, s, "s1", t0.Add(time.Hour))
	ds, err := s.ClaimLogouts(ctx, t0.Add(time.Hour), t0.Add(2*time.Hour), 10)
	wantErr(t, "ClaimLogouts(nothing revoked)", err, nil)
	mustEqual(t, "deliveries before any revocation", len(ds), 0)

	revoked := t0.Add(time.Minute)
	wantErr(t, "RevokeSession", s.RevokeSession(ctx, "s1", revoked), nil)
	wantErr(t, "RevokeSession(again)", s.RevokeSession(ctx, "s1", revoked.Add(time.Minute)), nil)

	ds, err = s.ClaimLogouts(ctx, revoked.Add(-time.Millisecond), revoked.Add(time.Hour), 10)
	wantErr(t, "ClaimLogouts(before due)", err, nil)
	mustEqual(t, "deliveries not yet due", len(ds), 0)

	lease := revoked.Add(30 * time.Second)
	ds, err = s.ClaimLogouts(ctx, revoked, lease, 10)
	wantErr(t, "ClaimLogouts", err, nil)
	if len(ds) != 1 {
		t.Fatalf("ClaimLogouts: %d deliveries, want 1 (a second revocation queues nothing)", len(ds))
	}
	d := ds[0]
	want := storage.LogoutDelivery{ID: d.ID, SessionID: "s1", TenantID: sess.TenantID, UserID: sess.UserID,
		Attempts: 1, CreatedAt: revoked, NextAttemptAt: lease}
	mustEqual(t, "claimed delivery", d, want)

	ds, _ = s.ClaimLogouts(ctx, lease.Add(-time.Millisecond), lease.Add(time.Hour), 10)
	mustEqual(t, "deliveries claimed during a lease", len(ds), 0)
	ds, _ = s.ClaimLogouts(ctx, lease, lease.Add(time.Minute), 10)
	if len(ds) != 1 || ds[0].Attempts != 2 {
		t.Fatalf("ClaimLogouts after the lease: %+v, want the delivery again, attempt 2", ds)
	}

	retry := lease.Add(10 * time.Minute)
	wantErr(t, "RetryLogout", s.RetryLogout(ctx, d.ID, retry), nil)
	ds, _ = s.ClaimLogouts(ctx, retry.Add(-time.Millisecond), retry.Add(time.Hour), 10)
	mustEqual(t, "deliveries before the retry", len(ds), 0)
	ds, _ = s.ClaimLogouts(ctx, retry, retry.Add(time.Minute), 10)
	mustEqual(t, "deliveries at the retry", len(ds), 1)

	wantErr(t, "DeleteLogout", s.DeleteLogout(ctx, d.ID), nil)
	wantErr(t, "DeleteLogout(again)", s.DeleteLogout(ctx, d.ID), nil)
	wantErr(t, "RetryLogout(deleted)", s.RetryLogout(ctx, d.ID, retry), storage.ErrNotFound)
	ds, _ = s.ClaimLogouts(ctx, retry.Add(time.Hour), retry.Add(2*time.Hour), 10)
	mustEqual(t, "deliveries after delete", len(ds), 0)
}

// Replicas claiming at once never take the same delivery.
func testClaimLogoutsConcurrently(t *testing.T, s storage.Store) {
	ctx := t.Context()
	const n = 20
	for i := range n {
		id := fmt.Sprintf("s%d", i)
		newSession(t, s, id, t0.Add(time.Hour))
		wantErr(t, "RevokeSession", s.RevokeSession(ctx, id, t0), nil)
	}
	results := race(8, func(int) ([]storage.LogoutDelivery, error) {
		return s.ClaimLogouts(ctx, t0, t0.Add(time.Minute), 3)
	})
	seen := map[int64]bool{}
	for _, r := range results {
		wantErr(t, "ClaimLogouts", r.err, nil)
		for _, d := range r.value {
			if seen[d.ID] {
				t.Fatalf("delivery %d claimed twice", d.ID)
			}
			seen[d.ID] = true
		}
	}
	rest, err := s.ClaimLogouts(ctx, t0, t0.Add(time.Minute), n)
	wantErr(t, "ClaimLogouts(rest)", err, nil)
	for _, d := range rest {
		if seen[d.ID] {
			t.Fatalf("delivery %d claimed twice", d.ID)
		}
		seen[d.ID] = true
	}
	mustEqual(t, "deliveries claimed in all", len(seen), n)
}

// The admin paths that end sessions (a disabled or deleted user, a deleted
// tenant) queue their logouts like any other revocation: the trigger, not
// the caller, does it.
func testAdminRevocationsQueueLogouts(t *testing.T, s storage.Store) {
	ctx := t.Context()
	for _, id := range []string{"disabled", "deleted", "tenant"} {
		sess := session(t, s, id, t0.Add(time.Hour))
		if id == "tenant" {
			sess.TenantID = "gone"
		}
		wantErr(t, "CreateSession("+id+")", s.CreateSession(ctx, storage.NewSession{Session: sess}), nil)
	}
	wantErr(t, "SetUserDisabled", s.SetUserDisabled(ctx, "user-disabled", true, t0), nil)
	wantErr(t, "DeleteUser", s.DeleteUser(ctx, "user-deleted", t0), nil)
	n, err := s.RevokeTenantSessions(ctx, "gone", t0)
	wantErr(t, "RevokeTenantSessions", err, nil)
	mustEqual(t, "tenant sessions revoked", n, int64(1))

	ds, err := s.ClaimLogouts(ctx, t0, t0.Add(time.Minute), 10)
	wantErr(t, "ClaimLogouts", err, nil)
	got := map[string]string{}
	for _, d := range ds {
		got[d.SessionID] = d.UserID
	}
	mustEqual(t, "logouts queued", got, map[string]string{"disabled": "user-disabled", "deleted": "user-deleted", "tenant": "user-tenant"})
}

// testSessionWithSSO: a sign-in's broker session is stored with its app
// session in one write; renewing a revoked one stores nothing, and leaves
// the login state unspent.
func testSessionWithSSO(t *testing.T, s storage.Store) {
	ctx := t.Context()
	exp := t0.Add(10 * time.Minute)
	sess := session(t, s, "s1", t0.Add(time.Hour))
	b := ssoSession("b1", "secret-1")
	b.UserID, sess.SSOID = sess.UserID, b.ID
	in := withCode(sess, code("c1", sess, t0.Add(time.Minute)))
	in.SSO, in.LoginState = &b, storage.UsedLoginState{ID: "state-1", ExpiresAt: exp}
	wantErr(t, "CreateSession(with SSO)", s.CreateSession(ctx, in), nil)
	gotB, err := s.GetSSOSession(ctx, "secret-1")
	wantErr(t, "GetSSOSession", err, nil)
	mustEqual(t, "GetSSOSession", gotB, b)
	got, err := s.GetSession(ctx, "s1")
	wantErr(t, "GetSession", err, nil)
	mustEqual(t, "GetSession", got, sess)

	_, err = s.RevokeSSOSession(ctx, "b1", t0.Add(time.Minute))
	wantErr(t, "RevokeSSOSession", err, nil)
	renewed := b
	renewed.SecretHash = "secret-2"
	sess2 := sess
	sess2.ID = "s2"
	in2 := withCode(sess2, code("c2", sess2, t0.Add(time.Minute)))
	in2.SSO, in2.LoginState = &renewed, storage.UsedLoginState{ID: "state-2", ExpiresAt: exp}
	wantErr(t, "CreateSession(renewing a revoked SSO session)", s.CreateSession(ctx, in2), storage.ErrRevoked)
	_, err = s.GetSession(ctx, "s2")
	wantErr(t, "GetSession after a refused write", err, storage.ErrNotFound)
	_, err = s.GetCode(ctx, "c2")
	wantErr(t, "GetCode after a refused write", err, storage.ErrNotFound)
	_, err = s.GetSSOSession(ctx, "secret-2")
	wantErr(t, "GetSSOSession(secret of a refused write)", err, storage.ErrNotFound)
	wantErr(t, "UseLoginState(of a refused write)", s.UseLoginState(ctx, "state-2", exp), nil)

	// Without it, the same sign-in goes through (with a state of its own:
	// the refused one's is spent now).
	in2.SSO, in2.Session.SSOID = nil, ""
	in2.LoginState.ID = "state-3"
	wantErr(t, "CreateSession(without SSO)", s.CreateSession(ctx, in2), nil)
}

// Ending the broker sessions of one provider ends those, live or idle,
// and no other provider's; an ended one stays as it was.
func testEndProviderSSOSessions(t *testing.T, s storage.Store) {
	ctx := t.Context()
	okta1, okta2, google := ssoSession("o1", "secret-o1"), ssoSession("o2", "secret-o2"), ssoSession("g1", "secret-g1")
	okta1.Provider, okta2.Provider = "okta", "okta"
	for _, b := range []storage.SSOSession{okta1, okta2, google} {
		wantErr(t, "PutSSOSession", s.PutSSOSession(ctx, b), nil)
	}
	_, err := s.RevokeSSOSession(ctx, "o2", t0)
	wantErr(t, "RevokeSSOSession", err, nil)
	at := t0.Add(time.Minute)
	n, err := s.EndProviderSSOSessions(ctx, "okta", at)
	wantErr(t, "EndProviderSSOSessions", err, nil)
	mustEqual(t, "sessions ended", n, int64(1))
	for secret, want := range map[string]time.Time{"secret-o1": at, "secret-o2": t0, "secret-g1": {}} {
		got, err := s.GetSSOSession(ctx, secret)
		wantErr(t, "GetSSOSession", err, nil)
		if !got.RevokedAt.Equal(want) {
			t.Errorf("%s: RevokedAt %v, want %v", secret, got.RevokedAt, want)
		}
	}
}
