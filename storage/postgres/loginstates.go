package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/socialbroker/broker/storage"
)

// UseLoginState inserts the state's hash unless it is there already: of
// two callbacks racing with one state, the second insert waits for the
// first's row and then inserts nothing.
func (s *Store) UseLoginState(ctx context.Context, id string, expiresAt time.Time) error {
	err := s.do(ctx, opTimeout, func(ctx context.Context) error {
		return oneRow(s.pool.Exec(ctx, `INSERT INTO used_login_states (expires_at, id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
			tstz(expiresAt), id))
	})
	if errors.Is(err, storage.ErrNotFound) {
		err = storage.ErrAlreadyUsed
	}
	return wrap("use login state", err)
}

// loginStateTaken reports the error of a plain insert into
// used_login_states whose row was there already.
func loginStateTaken(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == uniqueViolation && pgErr.TableName == "used_login_states"
}
