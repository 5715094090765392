package sqlite

import (
	"context"

	"github.com/socialbroker/broker/storage"
)

const userColumns = `id, name, email, email_verified, picture, username, disabled, created_at, updated_at`

func scanUser(row scanner) (storage.User, error) {
	var u storage.User
	err := row.Scan(&u.ID, &u.Name, &u.Email, &u.EmailVerified, &u.Picture, &u.Username, &u.Disabled,
		(*millis)(&u.CreatedAt), (*millis)(&u.UpdatedAt))
	return u, err
}

// CreateUser inserts u and first in one transaction, so a user never
// exists without the identity it was created for. first is linked to u
// whatever its UserID says.
func (s *Store) CreateUser(ctx context.Context, u storage.User, first storage.Identity) error {
	first.UserID = u.ID
	err := s.inTx(ctx, func(tx *wtx) error {
		_, err := tx.Exec(`INSERT INTO users (`+userColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			u.ID, u.Name, u.Email, u.EmailVerified, u.Picture, u.Username, u.Disabled, millis(u.CreatedAt), millis(u.UpdatedAt))
		if err != nil {
			return err
		}
		return insertIdentity(tx, first)
	})
	return wrap("create user", err)
}

// GetUser does not find a deleted user's tombstone (see DeleteUser).
func (s *Store) GetUser(ctx context.Context, id string) (storage.User, error) {
	u, err := scanUser(s.reads.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ? AND deleted_at IS NULL`, id))
	return u, wrap("get user", err)
}

// UpdateUser also overwrites EmailVerified: keeping the old flag beside a
// new address would vouch for an address nobody verified.
func (s *Store) UpdateUser(ctx context.Context, u storage.User) error {
	err := s.execOne(ctx,
		`UPDATE users SET name = ?, email = ?, email_verified = ?, picture = ?, username = ?, updated_at = ? WHERE id = ? AND deleted_at IS NULL`,
		u.Name, u.Email, u.EmailVerified, u.Picture, u.Username, millis(u.UpdatedAt), u.ID)
	return wrap("update user", err)
}
