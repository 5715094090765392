package storagetest

import (
	"testing"
	"time"

	"github.com/socialbroker/broker/storage"
)

func testSession(t *testing.T, s storage.Store) {
	sess := newSession(t, s, "s1", t0.Add(30*24*time.Hour))
	wantErr(t, "CreateSession(again)", s.CreateSession(t.Context(), storage.NewSession{Session: sess}), storage.ErrAlreadyExists)

	got, err := s.GetSession(t.Context(), "s1")
	wantErr(t, "GetSession", err, nil)
	mustEqual(t, "GetSession", got, sess)

	noRoles := sess
	noRoles.ID = "s2"
	noRoles.Roles = nil
	noRoles.Facts = nil // a session stored before facts were kept
	wantErr(t, "CreateSession(no roles)", s.CreateSession(t.Context(), storage.NewSession{Session: noRoles}), nil)
	got, err = s.GetSession(t.Context(), "s2")
	wantErr(t, "GetSession(no roles)", err, nil)
	mustEqual(t, "GetSession(no roles)", got, noRoles)

	_, err = s.GetSession(t.Context(), "unknown")
	wantErr(t, "GetSession(unknown)", err, storage.ErrNotFound)

	// A session and its code commit together: if the code cannot be
	// stored, neither is the session.
	taken := newCode(t, s, "taken", t0.Add(time.Minute))
	s3 := sess
	s3.ID = "s3"
	c := code("taken", s3, t0.Add(time.Minute))
	wantErr(t, "CreateSession(code taken)", s.CreateSession(t.Context(), withCode(s3, c)), storage.ErrAlreadyExists)
	_, err = s.GetSession(t.Context(), "s3")
	wantErr(t, "GetSession(session of a refused code)", err, storage.ErrNotFound)
	got2, err := s.GetCode(t.Context(), "taken")
	wantErr(t, "GetCode(taken)", err, nil)
	mustEqual(t, "the code that was there", got2, taken)
	c.Hash = "free"
	wantErr(t, "CreateSession(with its code)", s.CreateSession(t.Context(), withCode(s3, c)), nil)
	got2, err = s.GetCode(t.Context(), "free")
	wantErr(t, "GetCode(free)", err, nil)
	mustEqual(t, "GetCode(free)", got2, c)
}

// The first revocation time stays: a later one (a logout after a replayed
// code) must not make the session look revoked later than it was.
func testRevokeSession(t *testing.T, s storage.Store) {
	want := newSession(t, s, "s1", t0.Add(time.Hour))
	want.RevokedAt = t0.Add(time.Minute)
	wantErr(t, "RevokeSession", s.RevokeSession(t.Context(), "s1", want.RevokedAt), nil)
	wantErr(t, "RevokeSession(again)", s.RevokeSession(t.Context(), "s1", t0.Add(2*time.Minute)), nil)

	got, err := s.GetSession(t.Context(), "s1")
	wantErr(t, "GetSession", err, nil)
	mustEqual(t, "GetSession after RevokeSession", got, want)

	err = s.RevokeSession(t.Context(), "unknown", t0)
	wantErr(t, "RevokeSession(unknown)", err, storage.ErrNotFound)
}

func testListRevokedSessions(t *testing.T, s storage.Store) {
	newSession(t, s, "alive", t0.Add(time.Hour))
	newSession(t, s, "early", t0.Add(time.Hour))
	newSession(t, s, "late", t0.Add(time.Hour))
	newSession(t, s, "ending", t0.Add(2*time.Minute))
	for id, at := range map[string]time.Duration{"early": time.Second, "late": 3 * time.Second, "ending": 2 * time.Second} {
		wantErr(t, "RevokeSession("+id+")", s.RevokeSession(t.Context(), id, t0.Add(at)), nil)
	}
	got, err := s.ListRevokedSessions(t.Context(), t0, t0)
	wantErr(t, "ListRevokedSessions", err, nil)
	mustEqual(t, "ListRevokedSessions(all)", got, []storage.RevokedSession{
		{ID: "early", RevokedAt: t0.Add(time.Second), ExpiresAt: t0.Add(time.Hour)},
		{ID: "ending", RevokedAt: t0.Add(2 * time.Second), ExpiresAt: t0.Add(2 * time.Minute)},
		{ID: "late", RevokedAt: t0.Add(3 * time.Second), ExpiresAt: t0.Add(time.Hour)},
	})
	// since is inclusive; sessions expired at now are left out.
	got, err = s.ListRevokedSessions(t.Context(), t0.Add(2*time.Second), t0.Add(2*time.Minute))
	wantErr(t, "ListRevokedSessions", err, nil)
	mustEqual(t, "ListRevokedSessions(since, now)", got, []storage.RevokedSession{
		{ID: "late", RevokedAt: t0.Add(3 * time.Second), ExpiresAt: t0.Add(time.Hour)},
	})
	// A zero since means every revocation: a replica's first sync.
	got, err = s.ListRevokedSessions(t.Context(), time.Time{}, t0)
	wantErr(t, "ListRevokedSessions(zero since)", err, nil)
	if len(got) != 3 {
		t.Errorf("ListRevokedSessions(zero since) = %v, want all three", got)
	}
	got, err = s.ListRevokedSessions(t.Context(), t0.Add(time.Minute), t0)
	wantErr(t, "ListRevokedSessions", err, nil)
	if len(got) != 0 {
		t.Errorf("ListRevokedSessions(after every revocation) = %v, want none", got)
	}
}

// testMissingParent: a row naming a user that does not exist is refused
// with ErrNotFound, and nothing of it is stored.
func testMissingParent(t *testing.T, s storage.Store) {
	at := t0.Add(time.Hour)
	wantErr(t, "AddIdentity(no user)",
		s.AddIdentity(t.Context(), storage.Identity{UserID: "nobody", Provider: "p", Subject: "1"}), storage.ErrNotFound)
	_, err := s.GetIdentity(t.Context(), "p", "1")
	wantErr(t, "GetIdentity after a refused AddIdentity", err, storage.ErrNotFound)

	code := storage.AuthCode{Hash: "c", SessionID: "s", ExpiresAt: at}
	wantErr(t, "CreateSession(no user)",
		s.CreateSession(t.Context(), withCode(storage.Session{ID: "s", UserID: "nobody", ExpiresAt: at}, code)), storage.ErrNotFound)
	_, err = s.GetSession(t.Context(), "s")
	wantErr(t, "GetSession after a refused CreateSession", err, storage.ErrNotFound)
	_, err = s.GetCode(t.Context(), "c")
	wantErr(t, "GetCode after a refused CreateSession", err, storage.ErrNotFound)
}
