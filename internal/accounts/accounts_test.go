package accounts

import (
	"database/sql"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/socialbroker/broker/providers"
	"github.com/socialbroker/broker/storage"
	"github.com/socialbroker/broker/storage/sqlite"
)

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// fixture is Accounts over a real SQLite file and a clock the test moves.
type fixture struct {
	store *sqlite.Store
	path  string
	now   time.Time
	acc   *Accounts
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	path := filepath.Join(t.TempDir(), "b.db")
	store, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { store.Close() })
	f := &fixture{store: store, path: path, now: t0}
	f.acc = New(store, func() time.Time { return f.now })
	return f
}

func (f *fixture) resolve(t *testing.T, id providers.Identity) storage.User {
	t.Helper()
	u, err := f.acc.Resolve(t.Context(), &id)
	if err != nil {
		t.Fatalf("Resolve(%s/%s): %v", id.Provider, id.Subject, err)
	}
	return u
}

// countUsers reads the users table directly: the Users interface has no
// way to list them.
func (f *fixture) countUsers(t *testing.T) int {
	t.Helper()
	db, err := sql.Open("sqlite", f.path+"?_query_only=1")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRowContext(t.Context(), `SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func google(sub, email string, verified bool) providers.Identity {
	return providers.Identity{
		Provider: "google", Subject: sub, Name: "Alice Google", Picture: "https://pics.example/g.png",
		Email: email, EmailVerified: verified, EmailTrusted: true,
	}
}

func github(sub, email string, verified bool) providers.Identity {
	return providers.Identity{
		Provider: "github", Subject: sub, Username: "alice-gh",
		Email: email, EmailVerified: verified, EmailTrusted: true,
	}
}

func TestResolveNewUser(t *testing.T) {
	f := newFixture(t)
	id := google("g-1", "Alice@Acme.COM", true)
	u := f.resolve(t, id)
	if u.ID == "" || u.ID == id.Subject {
		t.Errorf("user id: got %q, want a fresh broker id, not the upstream subject", u.ID)
	}
	if u.Name != "Alice Google" || u.Email != "alice@acme.com" || !u.EmailVerified || u.Picture != id.Picture {
		t.Errorf("user: got %+v", u)
	}
	stored, err := f.store.GetUser(t.Context(), u.ID)
	if err != nil || stored.Email != "alice@acme.com" {
		t.Errorf("stored user: got %+v, %v", stored, err)
	}
	ident, err := f.store.GetIdentity(t.Context(), "google", "g-1")
	if err != nil || ident.UserID != u.ID || ident.Email != "alice@acme.com" || !ident.EmailVerified || !ident.EmailTrusted {
		t.Errorf("stored identity: got %+v, %v", ident, err)
	}

	// A name-less identity is named by its username.
	gh := f.resolve(t, github("h-1", "", false))
	if gh.Name != "alice-gh" {
		t.Errorf("name of a name-less identity: got %q, want its username", gh.Name)
	}
	if gh.ID == u.ID {
		t.Error("an identity without email joined another user")
	}
}

func TestResolveSameIdentityUpdatesProfile(t *testing.T) {
	f := newFixture(t)
	first := f.resolve(t, google("g-1", "alice@acme.com", true))
	f.now = t0.Add(time.Hour)
	again := google("g-1", "alice@acme.com", true)
	again.Name, again.Picture = "Alice Renamed", "https://pics.example/new.png"
	u := f.resolve(t, again)
	if u.ID != first.ID {
		t.Fatalf("same identity: got user %q, want %q", u.ID, first.ID)
	}
	stored, err := f.store.GetUser(t.Context(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Name != "Alice Renamed" || stored.Picture != again.Picture || !stored.UpdatedAt.Equal(f.now) {
		t.Errorf("stored profile: got %+v, want the new name and picture at %v", stored, f.now)
	}
	if u.Name != stored.Name {
		t.Errorf("returned user: got name %q, want %q", u.Name, stored.Name)
	}
	// Empty fields upstream do not erase what the user has.
	blank := google("g-1", "", false)
	blank.Name, blank.Picture = "", ""
	u = f.resolve(t, blank)
	if u.Name != "Alice Renamed" || u.Picture != again.Picture || u.Email != "alice@acme.com" {
		t.Errorf("after a sign-in without profile: got %+v, want the profile kept", u)
	}
}

func TestResolveLinksOnlyTrustedVerifiedEmails(t *testing.T) {
	tests := []struct {
		name     string
		existing providers.Identity
		incoming providers.Identity
		wantLink bool
	}{
		{
			name:     "both verified and trusted",
			existing: google("g-1", "alice@acme.com", true),
			incoming: github("h-1", "alice@acme.com", true),
			wantLink: true,
		},
		{
			name:     "same address in another case",
			existing: google("g-1", "Alice@acme.com", true),
			incoming: github("h-1", "ALICE@ACME.COM", true),
			wantLink: true,
		},
		{
			name:     "incoming unverified",
			existing: google("g-1", "alice@acme.com", true),
			incoming: github("h-1", "alice@acme.com", false),
		},
		{
			name:     "incoming untrusted",
			existing: google("g-1", "alice@acme.com", true),
			incoming: func() providers.Identity {
				id := github("o-1", "alice@acme.com", true)
				id.Provider, id.EmailTrusted = "corp", false
				return id
			}(),
		},
		{
			name:     "existing unverified",
			existing: google("g-1", "alice@acme.com", false),
			incoming: github("h-1", "alice@acme.com", true),
		},
		{
			name: "existing untrusted",
			existing: func() providers.Identity {
				id := google("o-1", "alice@acme.com", true)
				id.Provider, id.EmailTrusted = "corp", false
				return id
			}(),
			incoming: github("h-1", "alice@acme.com", true),
		},
		{
			// strings.ToLower maps U+0130 to "i̇", EqualFold U+017F to "s":
			// neither may reach alice's account.
			name:     "U+0130 in the local part",
			existing: google("g-1", "alice@acme.com", true),
			incoming: github("h-1", "al\u0130ce@acme.com", true),
		},
		{
			name:     "U+017F in the domain",
			existing: google("g-1", "alice@acme.test", true),
			incoming: github("h-1", "alice@acme.te\u017ft", true),
		},
		{
			name:     "different address",
			existing: google("g-1", "alice@acme.com", true),
			incoming: github("h-1", "alice@other.example", true),
		},
		{
			name:     "both without email",
			existing: google("g-1", "", true),
			incoming: github("h-1", "", true),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			a := f.resolve(t, tt.existing)
			f.now = t0.Add(time.Minute)
			b := f.resolve(t, tt.incoming)
			if linked := a.ID == b.ID; linked != tt.wantLink {
				t.Fatalf("linked: got %v, want %v", linked, tt.wantLink)
			}
			ids, err := f.store.ListIdentities(t.Context(), a.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := 1
			if tt.wantLink {
				want = 2
			}
			if len(ids) != want {
				t.Errorf("identities of the first user: got %d, want %d", len(ids), want)
			}
			// Once linked, the second identity keeps resolving to the same user.
			if again := f.resolve(t, tt.incoming); again.ID != b.ID {
				t.Errorf("second sign-in of the incoming identity: got user %q, want %q", again.ID, b.ID)
			}
		})
	}
}

// The broker vouches for an email only when the provider is trusted for it:
// a generic OIDC issuer without trust_email gets its address shown, never
// as verified.
func TestResolveUntrustedEmailIsNotVouchedFor(t *testing.T) {
	f := newFixture(t)
	id := github("o-1", "admin@acme.com", true)
	id.Provider, id.EmailTrusted = "corp", false
	u := f.resolve(t, id)
	if u.Email != "admin@acme.com" || u.EmailVerified {
		t.Fatalf("user email %q verified %v, want admin@acme.com unverified", u.Email, u.EmailVerified)
	}
	stored, err := f.store.GetUser(t.Context(), u.ID)
	if err != nil || stored.EmailVerified {
		t.Fatalf("stored user: %+v, %v; want email_verified false", stored, err)
	}
}

func TestResolveEmailUpdates(t *testing.T) {
	tests := []struct {
		name              string
		first, second     providers.Identity
		wantEmail         string
		wantEmailVerified bool
	}{
		{
			name:      "unverified never replaces verified",
			first:     google("g-1", "alice@acme.com", true),
			second:    google("g-1", "mallory@evil.example", false),
			wantEmail: "alice@acme.com", wantEmailVerified: true,
		},
		{
			name:      "unverified same address does not unverify",
			first:     google("g-1", "alice@acme.com", true),
			second:    google("g-1", "alice@acme.com", false),
			wantEmail: "alice@acme.com", wantEmailVerified: true,
		},
		{
			name:      "verified replaces verified",
			first:     google("g-1", "alice@acme.com", true),
			second:    google("g-1", "alice@new.example", true),
			wantEmail: "alice@new.example", wantEmailVerified: true,
		},
		{
			name:      "verified replaces unverified",
			first:     google("g-1", "alice@acme.com", false),
			second:    google("g-1", "alice@acme.com", true),
			wantEmail: "alice@acme.com", wantEmailVerified: true,
		},
		{
			name:      "unverified replaces unverified",
			first:     google("g-1", "old@acme.com", false),
			second:    google("g-1", "New@Acme.com", false),
			wantEmail: "new@acme.com", wantEmailVerified: false,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			u := f.resolve(t, tt.first)
			f.now = t0.Add(time.Hour)
			f.resolve(t, tt.second)
			stored, err := f.store.GetUser(t.Context(), u.ID)
			if err != nil {
				t.Fatal(err)
			}
			if stored.Email != tt.wantEmail || stored.EmailVerified != tt.wantEmailVerified {
				t.Errorf("user email: got %q verified %v, want %q verified %v",
					stored.Email, stored.EmailVerified, tt.wantEmail, tt.wantEmailVerified)
			}
		})
	}
}

// TestResolveUnverifiedEmailOfLinkedIdentity: a linked identity later
// reporting an unverified address must not overwrite the verified one.
func TestResolveUnverifiedEmailOfLinkedIdentity(t *testing.T) {
	f := newFixture(t)
	u := f.resolve(t, google("g-1", "alice@acme.com", true))
	if linked := f.resolve(t, github("h-1", "alice@acme.com", true)); linked.ID != u.ID {
		t.Fatalf("link: got user %q, want %q", linked.ID, u.ID)
	}
	f.now = t0.Add(time.Hour)
	f.resolve(t, github("h-1", "mallory@evil.example", false))
	stored, err := f.store.GetUser(t.Context(), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Email != "alice@acme.com" || !stored.EmailVerified {
		t.Errorf("user email: got %q verified %v, want alice@acme.com verified", stored.Email, stored.EmailVerified)
	}
}

func TestResolveConcurrentFirstSignIns(t *testing.T) {
	tests := []struct {
		name string
		id   providers.Identity
	}{
		{"without email", github("h-1", "", false)},
		{"with a trusted verified email", google("g-1", "alice@acme.com", true)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const n = 20
			f := newFixture(t)
			var (
				wg    sync.WaitGroup
				start = make(chan struct{})
				users = make([]storage.User, n)
				errs  = make([]error, n)
			)
			for i := range n {
				wg.Go(func() {
					id := tt.id
					<-start
					users[i], errs[i] = f.acc.Resolve(t.Context(), &id)
				})
			}
			close(start)
			wg.Wait()
			for i := range n {
				if errs[i] != nil {
					t.Errorf("sign-in %d: %v", i, errs[i])
				} else if users[i].ID != users[0].ID {
					t.Errorf("sign-in %d: user %q, want %q like the first", i, users[i].ID, users[0].ID)
				}
			}
			if got := f.countUsers(t); got != 1 {
				t.Errorf("users in the store: got %d, want 1", got)
			}
			ident, err := f.store.GetIdentity(t.Context(), tt.id.Provider, tt.id.Subject)
			if err != nil || ident.UserID != users[0].ID {
				t.Errorf("identity: got %+v, %v; want it on user %q", ident, err, users[0].ID)
			}
		})
	}
}

// TestResolveWritesIdentityOnlyWhenChanged: a returning identity that
// brings nothing new is not rewritten; one that does is.
func TestResolveWritesIdentityOnlyWhenChanged(t *testing.T) {
	f := newFixture(t)
	f.resolve(t, google("g-1", "alice@acme.com", true))
	f.now = t0.Add(time.Hour)
	f.resolve(t, google("g-1", "alice@acme.com", true))
	stored, err := f.store.GetIdentity(t.Context(), "google", "g-1")
	if err != nil {
		t.Fatal(err)
	}
	if !stored.UpdatedAt.Equal(t0) {
		t.Errorf("unchanged identity rewritten: UpdatedAt %v, want %v", stored.UpdatedAt, t0)
	}
	f.now = t0.Add(2 * time.Hour)
	f.resolve(t, google("g-1", "alice@new.example", true))
	stored, err = f.store.GetIdentity(t.Context(), "google", "g-1")
	if err != nil {
		t.Fatal(err)
	}
	if stored.Email != "alice@new.example" || !stored.UpdatedAt.Equal(f.now) {
		t.Errorf("changed identity: got %+v, want the new email at %v", stored, f.now)
	}
}
