package postgres

import (
	"context"
	"fmt"

	"github.com/socialbroker/broker/storage"
)

const identityColumns = `user_id, provider, subject, username, email, email_verified, email_trusted, created_at, updated_at`

func scanIdentity(row scanner) (storage.Identity, error) {
	var id storage.Identity
	err := row.Scan(&id.UserID, &id.Provider, &id.Subject, &id.Username, &id.Email,
		&id.EmailVerified, &id.EmailTrusted, (*tstz)(&id.CreatedAt), (*tstz)(&id.UpdatedAt))
	return id, err
}

func insertIdentity(ctx context.Context, db execer, id storage.Identity) error {
	_, err := db.Exec(ctx, `INSERT INTO identities (`+identityColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		id.UserID, id.Provider, id.Subject, id.Username, id.Email,
		id.EmailVerified, id.EmailTrusted, tstz(id.CreatedAt), tstz(id.UpdatedAt))
	return err
}

func (s *Store) GetIdentity(ctx context.Context, provider, subject string) (storage.Identity, error) {
	var id storage.Identity
	err := s.do(ctx, opTimeout, func(ctx context.Context) error {
		var err error
		id, err = scanIdentity(s.pool.QueryRow(ctx,
			`SELECT `+identityColumns+` FROM identities WHERE provider = $1 AND subject = $2`, provider, subject))
		return err
	})
	return id, wrap("get identity", err)
}

// identityUser is identityColumns and userColumns of an identity joined
// with its user.
const identityUser = `SELECT i.user_id, i.provider, i.subject, i.username, i.email, i.email_verified, i.email_trusted, i.created_at, i.updated_at,
	u.id, u.name, u.email, u.email_verified, u.picture, u.username, u.disabled, u.created_at, u.updated_at
	FROM identities i JOIN users u ON u.id = i.user_id
	WHERE i.provider = $1 AND i.subject = $2 AND u.deleted_at IS NULL`

// GetIdentityUser is one statement, one round trip.
func (s *Store) GetIdentityUser(ctx context.Context, provider, subject string) (storage.Identity, storage.User, error) {
	var id storage.Identity
	var u storage.User
	err := s.do(ctx, opTimeout, func(ctx context.Context) error {
		return s.pool.QueryRow(ctx, identityUser, provider, subject).Scan(
			&id.UserID, &id.Provider, &id.Subject, &id.Username, &id.Email,
			&id.EmailVerified, &id.EmailTrusted, (*tstz)(&id.CreatedAt), (*tstz)(&id.UpdatedAt),
			&u.ID, &u.Name, &u.Email, &u.EmailVerified, &u.Picture, &u.Username, &u.Disabled,
			(*tstz)(&u.CreatedAt), (*tstz)(&u.UpdatedAt))
	})
	return id, u, wrap("get identity and user", err)
}

// AddIdentity returns storage.ErrNotFound if id.UserID names no user, or
// a deleted one: the foreign key alone would link an identity to a
// deleted user's tombstone. It reads the user FOR KEY SHARE, as the
// foreign key's check would, so that it waits for a DeleteUser under way
// and then sees its tombstone (see DeleteUser).
func (s *Store) AddIdentity(ctx context.Context, id storage.Identity) error {
	err := s.do(ctx, opTimeout, func(ctx context.Context) error {
		return oneRow(s.pool.Exec(ctx, `INSERT INTO identities (`+identityColumns+`)
			SELECT id, $2::text, $3::text, $4::text, $5::text, $6::boolean, $7::boolean, $8::timestamptz, $9::timestamptz
			FROM users WHERE id = $1 AND deleted_at IS NULL FOR KEY SHARE`,
			id.UserID, id.Provider, id.Subject, id.Username, id.Email,
			id.EmailVerified, id.EmailTrusted, tstz(id.CreatedAt), tstz(id.UpdatedAt)))
	})
	return wrap("add identity", err)
}

// UpdateIdentity never moves an identity to another user: UserID and
// CreatedAt are left as stored.
func (s *Store) UpdateIdentity(ctx context.Context, id storage.Identity) error {
	err := s.do(ctx, opTimeout, func(ctx context.Context) error {
		return oneRow(s.pool.Exec(ctx,
			`UPDATE identities SET username = $1, email = $2, email_verified = $3, email_trusted = $4, updated_at = $5
			 WHERE provider = $6 AND subject = $7`,
			id.Username, id.Email, id.EmailVerified, id.EmailTrusted, tstz(id.UpdatedAt), id.Provider, id.Subject))
	})
	return wrap("update identity", err)
}

// ListIdentities returns no error and no identities for an unknown user.
func (s *Store) ListIdentities(ctx context.Context, userID string) ([]storage.Identity, error) {
	var ids []storage.Identity
	err := s.do(ctx, opTimeout, func(ctx context.Context) error {
		rows, err := s.pool.Query(ctx,
			`SELECT `+identityColumns+` FROM identities WHERE user_id = $1 ORDER BY created_at, seq`, userID)
		if err != nil {
			return err
		}
		ids, err = collect(rows, scanIdentity)
		return err
	})
	return ids, wrap("list identities", err)
}

// FindUserByTrustedEmail breaks ties between users by creation order, so
// the same account keeps winning as more accounts claim the address.
func (s *Store) FindUserByTrustedEmail(ctx context.Context, email string) (string, error) {
	if email == "" {
		// An identity without an address must never link to another.
		return "", fmt.Errorf("postgres: find user by trusted email: %w", storage.ErrNotFound)
	}
	var userID string
	err := s.do(ctx, opTimeout, func(ctx context.Context) error {
		return s.pool.QueryRow(ctx,
			`SELECT u.id FROM identities AS i JOIN users AS u ON u.id = i.user_id
			 WHERE i.email = $1 AND i.email_verified AND i.email_trusted
			 ORDER BY u.created_at, u.seq LIMIT 1`, email).Scan(&userID)
	})
	return userID, wrap("find user by trusted email", err)
}
