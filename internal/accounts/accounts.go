package accounts

import (
	"context"
	"errors"
	"fmt"
	"strings"
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
	existing, err := a.store.GetIdentity(ctx, id.Provider, id.Subject)
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
		return a.refreshProfile(ctx, existing.UserID, id, now)
	case !errors.Is(err, storage.ErrNotFound):
		return storage.User{}, fmt.Errorf("accounts: get identity: %w", err)
	}

	if rec.EmailVerified && rec.EmailTrusted && rec.Email != "" {
		userID, err := a.store.FindUserByTrustedEmail(ctx, rec.Email)
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

	u := storage.User{
		ID: tokens.NewID(), Name: displayName(id), Email: rec.Email,
		EmailVerified: rec.EmailVerified, Picture: id.Picture, CreatedAt: now, UpdatedAt: now,
	}
	rec.UserID = u.ID
	if err := a.store.CreateUser(ctx, u, rec); err != nil {
		return storage.User{}, fmt.Errorf("accounts: create user: %w", err)
	}
	return u, nil
}

// refreshProfile updates the user's name and picture from the latest
// sign-in, and its email only towards a verified one: an unverified
// address never replaces a verified one.
func (a *Accounts) refreshProfile(ctx context.Context, userID string, id *providers.Identity, now time.Time) (storage.User, error) {
	u, err := a.store.GetUser(ctx, userID)
	if err != nil {
		return u, fmt.Errorf("accounts: get user: %w", err)
	}
	changed := false
	set := func(dst *string, v string) {
		if v != "" && *dst != v {
			*dst, changed = v, true
		}
	}
	set(&u.Name, displayName(id))
	set(&u.Picture, id.Picture)
	email := strings.ToLower(id.Email)
	if email != "" && (id.EmailVerified || !u.EmailVerified) && (email != u.Email || id.EmailVerified != u.EmailVerified) {
		u.Email, u.EmailVerified, changed = email, id.EmailVerified, true
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

func identityRecord(id *providers.Identity, now time.Time) storage.Identity {
	return storage.Identity{
		Provider: id.Provider, Subject: id.Subject, Username: id.Username,
		Email: strings.ToLower(id.Email), EmailVerified: id.EmailVerified && id.Email != "",
		EmailTrusted: id.EmailTrusted, CreatedAt: now, UpdatedAt: now,
	}
}

func displayName(id *providers.Identity) string {
	if id.Name != "" {
		return id.Name
	}
	return id.Username
}
