package accounts

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/socialbroker/broker/providers"
	"github.com/socialbroker/broker/storage"
	"github.com/socialbroker/broker/tokens"
)

// Accounts finds or creates the user behind an upstream identity.
type Accounts struct {
	store storage.Users
	now   func() time.Time
}

// New returns Accounts over store.
func New(store storage.Users, now func() time.Time) *Accounts {
	if now == nil {
		now = time.Now
	}
	return &Accounts{store: store, now: now}
}

// Resolve returns the user id.Provider/id.Subject belongs to: the linked
// user, an existing user found by a trusted verified email, or a new one.
// The user's profile is refreshed from the identity.
func (a *Accounts) Resolve(ctx context.Context, id *providers.Identity) (storage.User, error) {
	// Two first sign-ins of one identity can race; the loser of the insert
	// finds the winner's row on the next pass.
	for range 3 {
		u, err := a.resolve(ctx, id)
		if !errors.Is(err, storage.ErrAlreadyExists) {
			return u, err
		}
	}
	return storage.User{}, errors.New("accounts: identity keeps changing concurrently")
}

func (a *Accounts) resolve(ctx context.Context, id *providers.Identity) (storage.User, error) {
	now := a.now()
	rec := identityRecord(id, now)
	existing, user, err := a.store.GetIdentityUser(ctx, id.Provider, id.Subject)
	switch {
	case err == nil:
		rec.UserID, rec.CreatedAt = existing.UserID, existing.CreatedAt
		// A returning user usually comes back unchanged: write only when
		// the upstream says something new.
		if !sameIdentity(existing, rec) {
			if err := a.store.UpdateIdentity(ctx, rec); err != nil {
				return storage.User{}, fmt.Errorf("accounts: update identity: %w", err)
			}
		}
		return a.updateProfile(ctx, user, id, now)
	case !errors.Is(err, storage.ErrNotFound):
		return storage.User{}, fmt.Errorf("accounts: get identity: %w", err)
	}

	if email, vouched := vouchedPrimary(id); vouched {
		userID, err := a.store.FindUserByTrustedEmail(ctx, email)
		switch {
		case err == nil:
			rec.UserID = userID
			if err := a.store.AddIdentity(ctx, rec); err != nil {
				return storage.User{}, fmt.Errorf("accounts: link identity: %w", err)
			}
			return a.refreshProfile(ctx, userID, id, now)
		case !errors.Is(err, storage.ErrNotFound):
			return storage.User{}, fmt.Errorf("accounts: find user by email: %w", err)
		}
	}

	email, vouched := vouchedPrimary(id)
	u := storage.User{
		ID: tokens.NewID(), Name: displayName(id), Email: email, EmailVerified: vouched,
		Picture: id.Picture, Username: id.Username, CreatedAt: now, UpdatedAt: now,
	}
	rec.UserID = u.ID
	if err := a.store.CreateUser(ctx, u, rec); err != nil {
		return storage.User{}, fmt.Errorf("accounts: create user: %w", err)
	}
	return u, nil
}

// refreshProfile updates the user's name, picture and username from the
// latest sign-in, and its email only towards one the broker vouches for:
// an address it does not vouch for never replaces one it does.
func (a *Accounts) refreshProfile(ctx context.Context, userID string, id *providers.Identity, now time.Time) (storage.User, error) {
	u, err := a.store.GetUser(ctx, userID)
	if err != nil {
		return u, fmt.Errorf("accounts: get user: %w", err)
	}
	return a.updateProfile(ctx, u, id, now)
}

// updateProfile is refreshProfile of the user u as just read.
func (a *Accounts) updateProfile(ctx context.Context, u storage.User, id *providers.Identity, now time.Time) (storage.User, error) {
	changed := false
	set := func(dst *string, v string) {
		if v != "" && *dst != v {
			*dst, changed = v, true
		}
	}
	set(&u.Name, displayName(id))
	set(&u.Picture, id.Picture)
	set(&u.Username, id.Username)
	email, vouched := vouchedPrimary(id)
	if email != "" && (vouched || !u.EmailVerified) && (email != u.Email || vouched != u.EmailVerified) {
		u.Email, u.EmailVerified, changed = email, vouched, true
	}
	if !changed {
		return u, nil
	}
	u.UpdatedAt = now
	if err := a.store.UpdateUser(ctx, u); err != nil {
		return u, fmt.Errorf("accounts: update user: %w", err)
	}
	return u, nil
}

// sameIdentity reports whether b says nothing a does not already store.
func sameIdentity(a, b storage.Identity) bool {
	return a.Username == b.Username && a.Email == b.Email &&
		a.EmailVerified == b.EmailVerified && a.EmailTrusted == b.EmailTrusted
}

// identityRecord is what an identity stores. Its email is a link target
// (Users.FindUserByTrustedEmail) only when both flags are set, which is
// exactly when the broker vouches for it (vouchedPrimary).
func identityRecord(id *providers.Identity, now time.Time) storage.Identity {
	email, _ := vouchedPrimary(id)
	return storage.Identity{
		Provider: id.Provider, Subject: id.Subject, Username: id.Username,
		Email: email, EmailVerified: id.EmailVerified && email != "",
		EmailTrusted: id.EmailTrusted, CreatedAt: now, UpdatedAt: now,
	}
}

func displayName(id *providers.Identity) string {
	if id.Name != "" {
		return id.Name
	}
	return id.Username
}
