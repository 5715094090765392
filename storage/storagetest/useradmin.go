package storagetest

import (
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/socialbroker/broker/storage"
)

// sessionOf is session id of userID in tenant, created at created and
// ending at expires, not yet stored.
func sessionOf(id, userID, tenant string, created, expires time.Time) storage.Session {
	return storage.Session{ID: id, UserID: userID, TenantID: tenant, Provider: "test", Scope: "openid",
		Facts: []byte(`{"emails":["` + userID + `@example.com"]}`), AuthTime: created, CreatedAt: created, ExpiresAt: expires}
}

// addSession stores sessionOf(id, userID, tenant, created, expires).
func addSession(t *testing.T, s storage.Store, id, userID, tenant string, created, expires time.Time) storage.Session {
	t.Helper()
	sess := sessionOf(id, userID, tenant, created, expires)
	if err := s.CreateSession(t.Context(), storage.NewSession{Session: sess}); err != nil {
		t.Fatalf("CreateSession(%s): %v", id, err)
	}
	return sess
}

// getSession returns session id, which must exist.
func getSession(t *testing.T, s storage.Store, id string) storage.Session {
	t.Helper()
	sess, err := s.GetSession(t.Context(), id)
	if err != nil {
		t.Fatalf("GetSession(%s): %v", id, err)
	}
	return sess
}

// revokedIDs is the ids ListRevokedSessions reports at now for revocations
// from since on, sorted: the order of equal revocation times is open.
func revokedIDs(t *testing.T, s storage.Store, since, now time.Time) []string {
	t.Helper()
	revoked, err := s.ListRevokedSessions(t.Context(), since, now)
	if err != nil {
		t.Fatalf("ListRevokedSessions: %v", err)
	}
	var ids []string
	for _, r := range revoked {
		ids = append(ids, r.ID)
	}
	slices.Sort(ids)
	return ids
}

func testListUsers(t *testing.T, s storage.Store) {
	// u1..u5; u2 also signs in with an identity whose address differs from
	// its profile's; u3 has u1's address on its profile; u5 is deleted.
	users := map[string]storage.User{}
	for _, id := range []string{"u3", "u1", "u5", "u2", "u4"} {
		users[id], _ = newUser(t, s, id, t0)
	}
	u3 := users["u3"]
	u3.Email = "u1@example.com"
	wantErr(t, "UpdateUser", s.UpdateUser(t.Context(), u3), nil)
	users["u3"] = u3
	wantErr(t, "AddIdentity", s.AddIdentity(t.Context(), storage.Identity{UserID: "u2", Provider: "other", Subject: "2",
		Email: "shared@example.com", CreatedAt: t0, UpdatedAt: t0}), nil)
	wantErr(t, "AddIdentity", s.AddIdentity(t.Context(), storage.Identity{UserID: "u5", Provider: "other", Subject: "5",
		Email: "shared@example.com", CreatedAt: t0, UpdatedAt: t0}), nil)
	wantErr(t, "SetUserDisabled", s.SetUserDisabled(t.Context(), "u4", true, t0), nil)
	u4 := users["u4"]
	u4.Disabled = true
	users["u4"] = u4
	// Sessions: u1 and u2 in acme (u2's revoked, u1's expired: any
	// session counts), u2 and u3 in globex, u5 in acme.
	addSession(t, s, "s1", "u1", "acme", t0, t0.Add(time.Second))
	addSession(t, s, "s2", "u2", "acme", t0, t0.Add(time.Hour))
	wantErr(t, "RevokeSession", s.RevokeSession(t.Context(), "s2", t0), nil)
	addSession(t, s, "s3", "u2", "globex", t0, t0.Add(time.Hour))
	addSession(t, s, "s4", "u3", "globex", t0, t0.Add(time.Hour))
	addSession(t, s, "s5", "u5", "acme", t0, t0.Add(time.Hour))
	wantErr(t, "DeleteUser", s.DeleteUser(t.Context(), "u5", t0), nil)

	pick := func(ids ...string) []storage.User {
		var out []storage.User
		for _, id := range ids {
			out = append(out, users[id])
		}
		return out
	}
	for _, tt := range []struct {
		name string
		q    storage.UserQuery
		want []storage.User
	}{
		{"all", storage.UserQuery{}, pick("u1", "u2", "u3", "u4")},
		{"first page", storage.UserQuery{Limit: 3}, pick("u1", "u2", "u3")},
		{"next page", storage.UserQuery{After: "u3", Limit: 3}, pick("u4")},
		{"by the profile's email", storage.UserQuery{Email: "u1@example.com"}, pick("u1", "u3")},
		{"by an identity's email", storage.UserQuery{Email: "shared@example.com"}, pick("u2")},
		{"by an unknown email", storage.UserQuery{Email: "nobody@example.com"}, nil},
		{"by tenant", storage.UserQuery{Tenant: "acme"}, pick("u1", "u2")},
		{"by tenant, paged", storage.UserQuery{Tenant: "globex", After: "u2", Limit: 5}, pick("u3")},
		{"by email and tenant", storage.UserQuery{Email: "u1@example.com", Tenant: "globex"}, pick("u3")},
		{"by an unknown tenant", storage.UserQuery{Tenant: "initech"}, nil},
	} {
		got, err := s.ListUsers(t.Context(), tt.q)
		wantErr(t, "ListUsers("+tt.name+")", err, nil)
		mustEqual(t, "ListUsers("+tt.name+")", got, tt.want)
	}
}

func testSetUserDisabled(t *testing.T, s storage.Store) {
	u, _ := newUser(t, s, "u1", t0)
	newUser(t, s, "other", t0)
	addSession(t, s, "live", "u1", "acme", t0, t0.Add(time.Hour))
	early := addSession(t, s, "early", "u1", "acme", t0, t0.Add(time.Hour))
	early.RevokedAt = t0.Add(time.Second)
	wantErr(t, "RevokeSession", s.RevokeSession(t.Context(), "early", early.RevokedAt), nil)
	others := addSession(t, s, "others", "other", "acme", t0, t0.Add(time.Hour))
	rt := newChain(t, s, "chain", t0.Add(time.Hour), "rt-1")
	browser := ssoSession("b", "secret-b")
	browser.UserID = "u1"
	wantErr(t, "PutSSOSession", s.PutSSOSession(t.Context(), browser), nil)
	othersBrowser := ssoSession("ob", "secret-ob")
	othersBrowser.UserID = "other"
	wantErr(t, "PutSSOSession", s.PutSSOSession(t.Context(), othersBrowser), nil)

	at := t0.Add(time.Minute)
	wantErr(t, "SetUserDisabled(true)", s.SetUserDisabled(t.Context(), "u1", true, at), nil)
	wantErr(t, "SetUserDisabled(chain's user)", s.SetUserDisabled(t.Context(), "user-chain", true, at), nil)
	got, err := s.GetUser(t.Context(), "u1")
	wantErr(t, "GetUser(disabled)", err, nil)
	u.Disabled = true
	mustEqual(t, "GetUser(disabled)", got, u)

	if got := getSession(t, s, "live").RevokedAt; !got.Equal(at) {
		t.Errorf("live session: RevokedAt %v, want %v (the disabling)", got, at)
	}
	mustEqual(t, "a session revoked before", getSession(t, s, "early"), early)
	mustEqual(t, "another user's session", getSession(t, s, "others"), others)
	// Other replicas learn of it, and the refresh chain is dead.
	mustEqual(t, "ListRevokedSessions after SetUserDisabled", revokedIDs(t, s, at, at), []string{"chain", "live"})
	_, err = s.RotateRefreshToken(t.Context(), rt.Hash, refreshToken("rt-2", "chain"), nil, at)
	wantErr(t, "RotateRefreshToken of a disabled user", err, storage.ErrRevoked)
	// Its broker sessions end too, so that no browser is signed back in
	// silently once the user is enabled again; another user's stays.
	if b, err := s.GetSSOSession(t.Context(), "secret-b"); err != nil || !b.RevokedAt.Equal(at) {
		t.Errorf("broker session of the disabled user: %v, %v; want revoked at %v", b.RevokedAt, err, at)
	}
	if b, _ := s.GetSSOSession(t.Context(), "secret-ob"); !b.RevokedAt.IsZero() {
		t.Errorf("another user's broker session revoked: %v", b.RevokedAt)
	}
	// No session starts for a disabled user: a sign-in that read the user
	// before the disabling fails when it writes its session.
	wantErr(t, "CreateSession(disabled user)", s.CreateSession(t.Context(), storage.NewSession{
		Session: sessionOf("after", "u1", "acme", at, at.Add(time.Hour))}), storage.ErrUserDisabled)
	if _, err := s.GetSession(t.Context(), "after"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("GetSession(refused session): %v, want ErrNotFound", err)
	}

	// Enabling again clears the mark only: ended sessions stay ended.
	wantErr(t, "SetUserDisabled(false)", s.SetUserDisabled(t.Context(), "u1", false, at.Add(time.Minute)), nil)
	got, _ = s.GetUser(t.Context(), "u1")
	u.Disabled = false
	mustEqual(t, "GetUser(enabled again)", got, u)
	if getSession(t, s, "live").RevokedAt.IsZero() {
		t.Error("SetUserDisabled(false) brought a revoked session back")
	}
	addSession(t, s, "enabled", "u1", "acme", at, at.Add(time.Hour))
	wantErr(t, "DeleteUser", s.DeleteUser(t.Context(), "u1", at), nil)
	wantErr(t, "CreateSession(deleted user)", s.CreateSession(t.Context(), storage.NewSession{
		Session: sessionOf("deleted", "u1", "acme", at, at.Add(time.Hour))}), storage.ErrUserDisabled)

	wantErr(t, "SetUserDisabled(unknown)", s.SetUserDisabled(t.Context(), "nobody", true, at), storage.ErrNotFound)
}

func testDeleteUser(t *testing.T, s storage.Store) {
	_, first := newUser(t, s, "u1", t0)
	second := storage.Identity{UserID: "u1", Provider: "other", Subject: "s", Email: "u1@example.com",
		EmailVerified: true, EmailTrusted: true, CreatedAt: t0, UpdatedAt: t0}
	wantErr(t, "AddIdentity", s.AddIdentity(t.Context(), second), nil)
	keep, _ := newUser(t, s, "keep", t0)
	// A session with its refresh chain, an expired one, and another
	// user's.
	sess := sessionOf("live", "u1", "acme", t0, t0.Add(time.Hour))
	c := code("code-live", sess, t0.Add(time.Minute))
	wantErr(t, "CreateSession", s.CreateSession(t.Context(), withCode(sess, c)), nil)
	_, err := s.RedeemCode(t.Context(), c.Hash, t0, refreshToken("rt-1", "live"))
	wantErr(t, "RedeemCode", err, nil)
	_, err = s.RotateRefreshToken(t.Context(), "rt-1", refreshToken("rt-2", "live"), nil, t0)
	wantErr(t, "RotateRefreshToken", err, nil)
	addSession(t, s, "ended", "u1", "acme", t0, t0.Add(time.Second))
	others := addSession(t, s, "others", "keep", "acme", t0, t0.Add(2*time.Hour))

	at := t0.Add(time.Minute)
	wantErr(t, "DeleteUser", s.DeleteUser(t.Context(), "u1", at), nil)

	// The user and its identities are gone, to every method.
	_, err = s.GetUser(t.Context(), "u1")
	wantErr(t, "GetUser(deleted)", err, storage.ErrNotFound)
	for _, id := range []storage.Identity{first, second} {
		_, err = s.GetIdentity(t.Context(), id.Provider, id.Subject)
		wantErr(t, "GetIdentity(of a deleted user)", err, storage.ErrNotFound)
	}
	ids, err := s.ListIdentities(t.Context(), "u1")
	wantErr(t, "ListIdentities(deleted)", err, nil)
	mustEqual(t, "ListIdentities(deleted)", ids, nil)
	_, err = s.FindUserByTrustedEmail(t.Context(), "u1@example.com")
	wantErr(t, "FindUserByTrustedEmail(a deleted user's address)", err, storage.ErrNotFound)
	wantErr(t, "UpdateUser(deleted)", s.UpdateUser(t.Context(), storage.User{ID: "u1", Name: "back"}), storage.ErrNotFound)
	wantErr(t, "AddIdentity(deleted)", s.AddIdentity(t.Context(),
		storage.Identity{UserID: "u1", Provider: "late", Subject: "1", CreatedAt: at}), storage.ErrNotFound)
	wantErr(t, "SetUserDisabled(deleted)", s.SetUserDisabled(t.Context(), "u1", true, at), storage.ErrNotFound)
	wantErr(t, "DeleteUser(again)", s.DeleteUser(t.Context(), "u1", at), storage.ErrNotFound)
	wantErr(t, "DeleteUser(unknown)", s.DeleteUser(t.Context(), "nobody", at), storage.ErrNotFound)
	users, err := s.ListUsers(t.Context(), storage.UserQuery{})
	wantErr(t, "ListUsers", err, nil)
	mustEqual(t, "ListUsers after DeleteUser", users, []storage.User{keep})

	// Its live session is revoked and kept for the other replicas, without
	// its refresh tokens; its ended one is gone.
	if got := getSession(t, s, "live").RevokedAt; !got.Equal(at) {
		t.Errorf("session of a deleted user: RevokedAt %v, want %v", got, at)
	}
	mustEqual(t, "ListRevokedSessions after DeleteUser", revokedIDs(t, s, at, at), []string{"live"})
	for _, hash := range []string{"rt-1", "rt-2"} {
		_, err = s.GetRefreshToken(t.Context(), hash)
		wantErr(t, "GetRefreshToken("+hash+") of a deleted user", err, storage.ErrNotFound)
	}
	_, err = s.GetSession(t.Context(), "ended")
	wantErr(t, "GetSession(ended, of a deleted user)", err, storage.ErrNotFound)
	sessions, err := s.ListUserSessions(t.Context(), "u1", at)
	wantErr(t, "ListUserSessions(deleted)", err, nil)
	mustEqual(t, "ListUserSessions(deleted)", sessions, nil)
	mustEqual(t, "another user's session", getSession(t, s, "others"), others)

	// A later sign-in with the same identity creates a new user.
	fresh := storage.User{ID: "u1-again", Email: "u1@example.com", CreatedAt: at, UpdatedAt: at}
	wantErr(t, "CreateUser(same identity, new user)", s.CreateUser(t.Context(), fresh, first), nil)
	got, err := s.GetIdentity(t.Context(), first.Provider, first.Subject)
	wantErr(t, "GetIdentity(signed in again)", err, nil)
	if got.UserID != "u1-again" {
		t.Fatalf("GetIdentity(signed in again): UserID %q, want u1-again", got.UserID)
	}

	// What was left of the user goes with its last session: two rows, the
	// session and the user's (its code is kept for CodeRetention).
	n, err := s.DeleteExpired(t.Context(), t0.Add(time.Hour))
	wantErr(t, "DeleteExpired", err, nil)
	if n != 2 {
		t.Fatalf("DeleteExpired after DeleteUser: %d rows removed, want 2 (a session and a deleted user)", n)
	}
}

// testDeleteUserConcurrently: an identity linked while its user is being
// deleted is either deleted with it or refused; none survives linked to
// a deleted user, whose next sign-in could then never create a new user.
// Each user keeps a session, so that its row stays as a tombstone.
func testDeleteUserConcurrently(t *testing.T, s storage.Store) {
	for i := range 10 {
		id := fmt.Sprintf("u%d", i)
		newUser(t, s, id, t0)
		addSession(t, s, "s"+id, id, "acme", t0, t0.Add(time.Hour))
		late := storage.Identity{UserID: id, Provider: "late", Subject: id, CreatedAt: t0}
		results := race(2, func(call int) (struct{}, error) {
			if call == 0 {
				return struct{}{}, s.DeleteUser(t.Context(), id, t0)
			}
			return struct{}{}, s.AddIdentity(t.Context(), late)
		})
		wantErr(t, "DeleteUser", results[0].err, nil)
		if err := results[1].err; err != nil && !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("AddIdentity beside DeleteUser: %v, want success or ErrNotFound", err)
		}
		_, err := s.GetIdentity(t.Context(), late.Provider, late.Subject)
		wantErr(t, "GetIdentity(linked beside DeleteUser)", err, storage.ErrNotFound)
	}
}

// A user without sessions leaves nothing behind.
func testDeleteUserWithoutSessions(t *testing.T, s storage.Store) {
	newUser(t, s, "u1", t0)
	wantErr(t, "DeleteUser", s.DeleteUser(t.Context(), "u1", t0), nil)
	n, err := s.DeleteExpired(t.Context(), t0.Add(time.Hour))
	wantErr(t, "DeleteExpired", err, nil)
	if n != 0 {
		t.Fatalf("DeleteExpired after deleting a user without sessions: %d rows removed, want 0", n)
	}
	// The id is free again.
	newUser(t, s, "u1", t0)
}

func testListUserSessions(t *testing.T, s storage.Store) {
	newUser(t, s, "u1", t0)
	newUser(t, s, "other", t0)
	now := t0.Add(time.Hour)
	older := addSession(t, s, "older", "u1", "acme", t0, now.Add(time.Hour))
	newer := addSession(t, s, "newer", "u1", "globex", t0.Add(time.Minute), now.Add(time.Hour))
	addSession(t, s, "revoked", "u1", "acme", t0, now.Add(time.Hour))
	wantErr(t, "RevokeSession", s.RevokeSession(t.Context(), "revoked", t0), nil)
	addSession(t, s, "expired", "u1", "acme", t0, now) // ends at now: ended
	addSession(t, s, "others", "other", "acme", t0, now.Add(time.Hour))

	got, err := s.ListUserSessions(t.Context(), "u1", now)
	wantErr(t, "ListUserSessions", err, nil)
	mustEqual(t, "ListUserSessions", got, []storage.Session{newer, older})
	got, err = s.ListUserSessions(t.Context(), "nobody", now)
	wantErr(t, "ListUserSessions(unknown)", err, nil)
	mustEqual(t, "ListUserSessions(unknown)", got, nil)
}

func testRevokeTenantSessions(t *testing.T, s storage.Store) {
	newUser(t, s, "u1", t0)
	newUser(t, s, "u2", t0)
	now := t0.Add(time.Hour)
	addSession(t, s, "a1", "u1", "acme", t0, now.Add(time.Hour))
	addSession(t, s, "a2", "u2", "acme", t0, now.Add(time.Hour))
	early := addSession(t, s, "early", "u1", "acme", t0, now.Add(time.Hour))
	early.RevokedAt = t0
	wantErr(t, "RevokeSession", s.RevokeSession(t.Context(), "early", t0), nil)
	ended := addSession(t, s, "ended", "u2", "acme", t0, now)
	other := addSession(t, s, "other", "u1", "globex", t0, now.Add(time.Hour))

	n, err := s.RevokeTenantSessions(t.Context(), "acme", now)
	wantErr(t, "RevokeTenantSessions", err, nil)
	if n != 2 {
		t.Fatalf("RevokeTenantSessions: %d revoked, want 2", n)
	}
	for _, id := range []string{"a1", "a2"} {
		if got := getSession(t, s, id).RevokedAt; !got.Equal(now) {
			t.Errorf("session %s: RevokedAt %v, want %v", id, got, now)
		}
	}
	mustEqual(t, "a session revoked before", getSession(t, s, "early"), early)
	mustEqual(t, "an ended session", getSession(t, s, "ended"), ended)
	mustEqual(t, "another tenant's session", getSession(t, s, "other"), other)
	mustEqual(t, "ListRevokedSessions after RevokeTenantSessions", revokedIDs(t, s, now, now), []string{"a1", "a2"})

	n, err = s.RevokeTenantSessions(t.Context(), "acme", now.Add(time.Minute))
	wantErr(t, "RevokeTenantSessions(again)", err, nil)
	if n != 0 {
		t.Fatalf("RevokeTenantSessions(again): %d revoked, want 0", n)
	}
}
