package postgres

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/socialbroker/broker/storage"
)

var _ storage.Filler = (*Store)(nil)

// Fill stores the accounts in one transaction with COPY, one table after
// the other in the order of their foreign keys, with the columns and
// value encodings of CreateUser, CreateSession and RedeemCode.
func (s *Store) Fill(ctx context.Context, accounts []storage.Account) error {
	n := len(accounts)
	users, idents := make([][]any, n), make([][]any, n)
	sessions, tokens := make([][]any, n), make([][]any, n)
	for i, a := range accounts {
		u, id, sess, rt := a.User, a.Identity, a.Session, a.Refresh
		id.UserID, sess.UserID, rt.SessionID = u.ID, u.ID, sess.ID
		users[i] = []any{u.ID, u.Name, u.Email, u.EmailVerified, u.Picture, u.Username, u.Disabled, tstz(u.CreatedAt), tstz(u.UpdatedAt)}
		idents[i] = []any{id.UserID, id.Provider, id.Subject, id.Username, id.Email,
			id.EmailVerified, id.EmailTrusted, tstz(id.CreatedAt), tstz(id.UpdatedAt)}
		sessions[i] = []any{sess.ID, sess.UserID, sess.TenantID, sess.Provider, sess.Scope, roleList(sess.Roles), sess.Facts, sess.SSOID, sess.Nonce,
			tstz(sess.AuthTime), tstz(sess.CreatedAt), tstz(sess.ExpiresAt), tstz(sess.RevokedAt)}
		tokens[i] = []any{rt.Hash, rt.SessionID, tstz(rt.CreatedAt), tstz(rt.ExpiresAt), tstz(rt.UsedAt), rt.SuccessorHash, rt.SuccessorSealed}
	}
	tables := []struct {
		name, columns string
		rows          [][]any
	}{
		{"users", userColumns, users},
		{"identities", identityColumns, idents},
		{"sessions", sessionColumns, sessions},
		{"refresh_tokens", refreshTokenColumns, tokens},
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		for _, t := range tables {
			cols := strings.Split(t.columns, ", ")
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{t.name}, cols, pgx.CopyFromRows(t.rows)); err != nil {
				return err
			}
		}
		return nil
	})
	return wrap("fill", err)
}
