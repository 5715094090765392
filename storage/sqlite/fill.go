package sqlite

import (
	"context"

	"github.com/socialbroker/broker/storage"
)

var _ storage.Filler = (*Store)(nil)

// Fill stores the accounts in one write transaction, through the same
// prepared INSERTs as CreateUser, CreateSession and RedeemCode.
func (s *Store) Fill(ctx context.Context, accounts []storage.Account) error {
	err := s.inTx(ctx, func(tx *wtx) error {
		for _, a := range accounts {
			u, sess, rt := a.User, a.Session, a.Refresh
			a.Identity.UserID, sess.UserID, rt.SessionID = u.ID, u.ID, sess.ID
			if _, err := tx.Exec(`INSERT INTO users (`+userColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				u.ID, u.Name, u.Email, u.EmailVerified, u.Picture, u.Username, u.Disabled, millis(u.CreatedAt), millis(u.UpdatedAt)); err != nil {
				return err
			}
			if err := insertIdentity(tx, a.Identity); err != nil {
				return err
			}
			if err := insertSession(tx, sess); err != nil {
				return err
			}
			if err := insertRefreshToken(tx, rt); err != nil {
				return err
			}
		}
		return nil
	})
	return wrap("fill", err)
}
