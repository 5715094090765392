package storagetest

import (
	"testing"
	"time"

	"github.com/socialbroker/broker/storage"
)

func testCreateUser(t *testing.T, s storage.Store) {
	u, ident := newUser(t, s, "u1", t0)

	got, err := s.GetUser(t.Context(), "u1")
	wantErr(t, "GetUser", err, nil)
	mustEqual(t, "GetUser", got, u)

	gotIdent, err := s.GetIdentity(t.Context(), "test", "u1")
	wantErr(t, "GetIdentity", err, nil)
	mustEqual(t, "GetIdentity", gotIdent, ident)

	ids, err := s.ListIdentities(t.Context(), "u1")
	wantErr(t, "ListIdentities", err, nil)
	mustEqual(t, "ListIdentities", ids, []storage.Identity{ident})

	gotIdent, gotUser, err := s.GetIdentityUser(t.Context(), "test", "u1")
	wantErr(t, "GetIdentityUser", err, nil)
	mustEqual(t, "GetIdentityUser identity", gotIdent, ident)
	mustEqual(t, "GetIdentityUser user", gotUser, u)
	_, _, err = s.GetIdentityUser(t.Context(), "test", "nobody")
	wantErr(t, "GetIdentityUser(unknown subject)", err, storage.ErrNotFound)
	_, _, err = s.GetIdentityUser(t.Context(), "other", "u1")
	wantErr(t, "GetIdentityUser(same subject, other provider)", err, storage.ErrNotFound)

	_, err = s.GetUser(t.Context(), "nobody")
	wantErr(t, "GetUser(unknown)", err, storage.ErrNotFound)
	_, err = s.GetIdentity(t.Context(), "test", "nobody")
	wantErr(t, "GetIdentity(unknown subject)", err, storage.ErrNotFound)
	_, err = s.GetIdentity(t.Context(), "other", "u1")
	wantErr(t, "GetIdentity(same subject, other provider)", err, storage.ErrNotFound)
	ids, err = s.ListIdentities(t.Context(), "nobody")
	wantErr(t, "ListIdentities(unknown)", err, nil)
	if len(ids) != 0 {
		t.Fatalf("ListIdentities(unknown): got %d identities, want 0", len(ids))
	}
}

// A user must never exist without the identity it was created for.
func testCreateUserDuplicateIdentity(t *testing.T, s storage.Store) {
	_, ident := newUser(t, s, "u1", t0)

	u2 := storage.User{ID: "u2", Name: "Two", CreatedAt: t0, UpdatedAt: t0}
	ident.UserID = "u2"
	err := s.CreateUser(t.Context(), u2, ident)
	wantErr(t, "CreateUser(taken identity)", err, storage.ErrAlreadyExists)

	_, err = s.GetUser(t.Context(), "u2")
	wantErr(t, "GetUser after failed CreateUser", err, storage.ErrNotFound)
	got, err := s.GetIdentity(t.Context(), ident.Provider, ident.Subject)
	wantErr(t, "GetIdentity", err, nil)
	if got.UserID != "u1" {
		t.Fatalf("identity moved: got UserID %q, want u1", got.UserID)
	}
}

// UpdateUser overwrites EmailVerified along with Email: a new address must
// not inherit the old one's verification.
func testUpdateUser(t *testing.T, s storage.Store) {
	u, _ := newUser(t, s, "u1", t0)
	u.Name = "Renamed"
	u.Email = "new@example.com"
	u.EmailVerified = false
	u.Picture = "https://example.com/new.png"
	u.Username = "renamed"
	u.UpdatedAt = t0.Add(time.Hour)
	wantErr(t, "UpdateUser", s.UpdateUser(t.Context(), u), nil)

	got, err := s.GetUser(t.Context(), "u1")
	wantErr(t, "GetUser", err, nil)
	mustEqual(t, "GetUser after UpdateUser", got, u)

	err = s.UpdateUser(t.Context(), storage.User{ID: "nobody", UpdatedAt: t0})
	wantErr(t, "UpdateUser(unknown)", err, storage.ErrNotFound)
}

func testAddIdentity(t *testing.T, s storage.Store) {
	_, first := newUser(t, s, "u1", t0.Add(time.Hour))
	// Added later but created earlier: ListIdentities orders by CreatedAt.
	older := storage.Identity{
		UserID:        "u1",
		Provider:      "github",
		Subject:       "42",
		Username:      "octocat",
		Email:         "octo@example.com",
		EmailVerified: true,
		EmailTrusted:  true,
		CreatedAt:     t0,
		UpdatedAt:     t0,
	}
	wantErr(t, "AddIdentity", s.AddIdentity(t.Context(), older), nil)

	ids, err := s.ListIdentities(t.Context(), "u1")
	wantErr(t, "ListIdentities", err, nil)
	mustEqual(t, "ListIdentities", ids, []storage.Identity{older, first})

	got, err := s.GetIdentity(t.Context(), "github", "42")
	wantErr(t, "GetIdentity", err, nil)
	mustEqual(t, "GetIdentity", got, older)

	err = s.AddIdentity(t.Context(), older)
	wantErr(t, "AddIdentity(again)", err, storage.ErrAlreadyExists)
	newUser(t, s, "u2", t0)
	older.UserID = "u2"
	err = s.AddIdentity(t.Context(), older)
	wantErr(t, "AddIdentity(taken by another user)", err, storage.ErrAlreadyExists)
}

// UpdateIdentity overwrites username, email, flags and UpdatedAt only; in
// particular it never moves an identity to another user.
func testUpdateIdentity(t *testing.T, s storage.Store) {
	_, ident := newUser(t, s, "u1", t0)
	newUser(t, s, "u2", t0)

	update := ident
	update.UserID = "u2"
	update.Username = "renamed"
	update.Email = "new@example.com"
	update.EmailVerified = false
	update.EmailTrusted = true
	update.CreatedAt = t0.Add(time.Minute)
	update.UpdatedAt = t0.Add(time.Hour)
	wantErr(t, "UpdateIdentity", s.UpdateIdentity(t.Context(), update), nil)

	want := update
	want.UserID = ident.UserID
	want.CreatedAt = ident.CreatedAt
	got, err := s.GetIdentity(t.Context(), ident.Provider, ident.Subject)
	wantErr(t, "GetIdentity", err, nil)
	mustEqual(t, "GetIdentity after UpdateIdentity", got, want)

	update.Subject = "nobody"
	wantErr(t, "UpdateIdentity(unknown)", s.UpdateIdentity(t.Context(), update), storage.ErrNotFound)
}

func testFindUserByTrustedEmail(t *testing.T, s storage.Store) {
	const shared = "shared@example.com"
	add := func(userID, provider, email string, verified, trusted bool) storage.Identity {
		t.Helper()
		id := storage.Identity{
			UserID: userID, Provider: provider, Subject: userID, Email: email,
			EmailVerified: verified, EmailTrusted: trusted, CreatedAt: t0, UpdatedAt: t0,
		}
		wantErr(t, "AddIdentity", s.AddIdentity(t.Context(), id), nil)
		return id
	}
	// "newer" is inserted first so that insertion order and age disagree.
	newUser(t, s, "newer", t0.Add(time.Hour))
	newUser(t, s, "older", t0)
	newUser(t, s, "untrusted", t0.Add(-2*time.Hour))
	newUser(t, s, "unverified", t0.Add(-2*time.Hour))
	newUser(t, s, "noemail", t0.Add(-2*time.Hour))
	add("newer", "google", shared, true, true)
	olderIdent := add("older", "google", shared, true, true)
	add("untrusted", "google", "untrusted@example.com", true, false)
	add("unverified", "google", "unverified@example.com", false, true)
	// An identity without an address must never link to another.
	add("noemail", "google", "", true, true)

	find := func(email, want string, wantE error) {
		t.Helper()
		got, err := s.FindUserByTrustedEmail(t.Context(), email)
		wantErr(t, "FindUserByTrustedEmail("+email+")", err, wantE)
		if got != want {
			t.Fatalf("FindUserByTrustedEmail(%q): got %q, want %q", email, got, want)
		}
	}
	find(shared, "older", nil)
	find("untrusted@example.com", "", storage.ErrNotFound)
	find("unverified@example.com", "", storage.ErrNotFound)
	find("nobody@example.com", "", storage.ErrNotFound)
	find("", "", storage.ErrNotFound)

	// Losing trust takes an identity out of the running.
	olderIdent.EmailTrusted = false
	wantErr(t, "UpdateIdentity", s.UpdateIdentity(t.Context(), olderIdent), nil)
	find(shared, "newer", nil)
}
