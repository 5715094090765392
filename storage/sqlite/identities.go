package sqlite

import (
	"context"
	"fmt"

	"github.com/socialbroker/broker/storage"
)

const identityColumns = `user_id, provider, subject, username, email, email_verified, email_trusted, created_at, updated_at`

func scanIdentity(row scanner) (storage.Identity, error) {
	var id storage.Identity
	err := row.Scan(&id.UserID, &id.Provider, &id.Subject, &id.Username, &id.Email,
		&id.EmailVerified, &id.EmailTrusted, (*millis)(&id.CreatedAt), (*millis)(&id.UpdatedAt))
	return id, err
}

func insertIdentity(db *wtx, id storage.Identity) error {
	_, err := db.Exec(`INSERT INTO identities (`+identityColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		id.UserID, id.Provider, id.Subject, id.Username, id.Email,
		id.EmailVerified, id.EmailTrusted, millis(id.CreatedAt), millis(id.UpdatedAt))
	return err
}

// identityUser is identityColumns and userColumns of an identity joined
// with its user.
const identityUser = `SELECT i.user_id, i.provider, i.subject, i.username, i.email, i.email_verified, i.email_trusted, i.created_at, i.updated_at,
	u.id, u.name, u.email, u.email_verified, u.picture, u.username, u.disabled, u.created_at, u.updated_at
	FROM identities i JOIN users u ON u.id = i.user_id
	WHERE i.provider = ? AND i.subject = ? AND u.deleted_at IS NULL`

// GetIdentityUser is one statement on the read pool.
func (s *Store) GetIdentityUser(ctx context.Context, provider, subject string) (storage.Identity, storage.User, error) {
	var id storage.Identity
	var u storage.User
	err := s.reads.QueryRowContext(ctx, identityUser, provider, subject).Scan(
		&id.UserID, &id.Provider, &id.Subject, &id.Username, &id.Email,
		&id.EmailVerified, &id.EmailTrusted, (*millis)(&id.CreatedAt), (*millis)(&id.UpdatedAt),
		&u.ID, &u.Name, &u.Email, &u.EmailVerified, &u.Picture, &u.Username, &u.Disabled,
		(*millis)(&u.CreatedAt), (*millis)(&u.UpdatedAt))
	return id, u, wrap("get identity and user", err)
}

func (s *Store) GetIdentity(ctx context.Context, provider, subject string) (storage.Identity, error) {
	row := s.reads.QueryRowContext(ctx,
		`SELECT `+identityColumns+` FROM identities WHERE provider = ? AND subject = ?`, provider, subject)
	id, err := scanIdentity(row)
	return id, wrap("get identity", err)
}

// AddIdentity returns storage.ErrNotFound if id.UserID names no user, or
// a deleted one: the foreign key alone would link an identity to a
// deleted user's tombstone (see DeleteUser).
func (s *Store) AddIdentity(ctx context.Context, id storage.Identity) error {
	err := s.inTx(ctx, func(tx *wtx) error {
		var deleted bool
		if err := tx.QueryRow(`SELECT deleted_at IS NOT NULL FROM users WHERE id = ?`, id.UserID).Scan(&deleted); err != nil {
			return err
		}
		if deleted {
			return storage.ErrNotFound
		}
		return insertIdentity(tx, id)
	})
	return wrap("add identity", err)
}

// UpdateIdentity never moves an identity to another user: UserID and
// CreatedAt are left as stored.
func (s *Store) UpdateIdentity(ctx context.Context, id storage.Identity) error {
	err := s.execOne(ctx,
		`UPDATE identities SET username = ?, email = ?, email_verified = ?, email_trusted = ?, updated_at = ?
		 WHERE provider = ? AND subject = ?`,
		id.Username, id.Email, id.EmailVerified, id.EmailTrusted, millis(id.UpdatedAt), id.Provider, id.Subject)
	return wrap("update identity", err)
}

// ListIdentities returns no error and no identities for an unknown user.
func (s *Store) ListIdentities(ctx context.Context, userID string) ([]storage.Identity, error) {
	ids, err := s.listIdentities(ctx, userID)
	return ids, wrap("list identities", err)
}

func (s *Store) listIdentities(ctx context.Context, userID string) ([]storage.Identity, error) {
	rows, err := s.reads.QueryContext(ctx,
		`SELECT `+identityColumns+` FROM identities WHERE user_id = ? ORDER BY created_at, rowid`, userID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []storage.Identity
	for rows.Next() {
		id, err := scanIdentity(rows)
		if err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// FindUserByTrustedEmail breaks ties between users by creation order, so
// the same account keeps winning as more accounts claim the address.
func (s *Store) FindUserByTrustedEmail(ctx context.Context, email string) (string, error) {
	if email == "" {
		// An identity without an address must never link to another.
		return "", fmt.Errorf("sqlite: find user by trusted email: %w", storage.ErrNotFound)
	}
	var userID string
	err := s.reads.QueryRowContext(ctx,
		`SELECT u.id FROM identities AS i JOIN users AS u ON u.id = i.user_id
		 WHERE i.email = ? AND i.email_verified = 1 AND i.email_trusted = 1
		 ORDER BY u.created_at, u.rowid LIMIT 1`, email).Scan(&userID)
	return userID, wrap("find user by trusted email", err)
}
