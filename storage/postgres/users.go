package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/socialbroker/broker/storage"
)

const userColumns = `id, name, email, email_verified, picture, username, disabled, created_at, updated_at`

func scanUser(row scanner) (storage.User, error) {
	var u storage.User
	err := row.Scan(&u.ID, &u.Name, &u.Email, &u.EmailVerified, &u.Picture, &u.Username, &u.Disabled,
		(*tstz)(&u.CreatedAt), (*tstz)(&u.UpdatedAt))
	return u, err
}

// CreateUser inserts u and first in one transaction, so a user never
// exists without the identity it was created for. first is linked to u
// whatever its UserID says.
func (s *Store) CreateUser(ctx context.Context, u storage.User, first storage.Identity) error {
	first.UserID = u.ID
	err := s.do(ctx, opTimeout, func(ctx context.Context) error {
		return s.inTx(ctx, func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO users (`+userColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
				u.ID, u.Name, u.Email, u.EmailVerified, u.Picture, u.Username, u.Disabled, tstz(u.CreatedAt), tstz(u.UpdatedAt))
			if err != nil {
				return err
			}
			return insertIdentity(ctx, tx, first)
		})
	})
	return wrap("create user", err)
}

// GetUser does not find a deleted user's tombstone (see DeleteUser).
func (s *Store) GetUser(ctx context.Context, id string) (storage.User, error) {
	var u storage.User
	err := s.do(ctx, opTimeout, func(ctx context.Context) error {
		var err error
		u, err = scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1 AND deleted_at IS NULL`, id))
		return err
	})
	return u, wrap("get user", err)
}

// UpdateUser also overwrites EmailVerified: keeping the old flag beside a
// new address would vouch for an address nobody verified.
func (s *Store) UpdateUser(ctx context.Context, u storage.User) error {
	err := s.do(ctx, opTimeout, func(ctx context.Context) error {
		return oneRow(s.pool.Exec(ctx,
			`UPDATE users SET name = $1, email = $2, email_verified = $3, picture = $4, username = $5, updated_at = $6 WHERE id = $7 AND deleted_at IS NULL`,
			u.Name, u.Email, u.EmailVerified, u.Picture, u.Username, tstz(u.UpdatedAt), u.ID))
	})
	return wrap("update user", err)
}
