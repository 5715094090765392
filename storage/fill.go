package storage

import "context"

// Account is one signed-in account as a load test pre-fills it: a user,
// its identity, one session and that session's live refresh token.
type Account struct {
	User     User
	Identity Identity // linked to User whatever its UserID says
	Session  Session  // of User whatever its UserID says
	Refresh  RefreshToken
}

// Filler is implemented by the stores for the load tool (go run ./bench
// -fill): it stores many accounts at once, with the store's own column
// encodings, so that a benchmark can run on a database of realistic size
// in seconds rather than the hours its sign-ins would take. It is not
// part of Store: nothing in the broker itself calls it.
type Filler interface {
	// Fill stores accounts in one transaction: all of them or none.
	// ErrAlreadyExists if any of their keys is taken.
	Fill(ctx context.Context, accounts []Account) error
}
