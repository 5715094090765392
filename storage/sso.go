package storage

import (
	"context"
	"time"
)

// SSOSession is the broker's own sign-in of one browser: what lets a
// second app sign that browser in without a new trip upstream. The browser
// holds a secret in a cookie; the store keeps only its hash.
type SSOSession struct {
	// ID is stable for the session's life and not secret: the app
	// sessions started from it name it (Session.SSOID).
	ID string
	// SecretHash is the hash of the cookie's secret. It is replaced at
	// every trip upstream, so a copy of an earlier cookie is worthless.
	SecretHash string
	UserID     string
	// Provider is the configured provider of the last trip upstream.
	Provider string
	// Facts are what that upstream asserted (see Session.Facts), judged
	// against each tenant that would reuse the session.
	Facts []byte
	// GroupsKnown: the upstream was asked for the identity's groups, so
	// Facts hold them; a tenant whose rules name groups cannot reuse a
	// session whose sign-in did not fetch them.
	GroupsKnown bool
	// AuthTime is when the user last authenticated upstream: the ID
	// token's auth_time for every app signed in from this session.
	AuthTime      time.Time
	CreatedAt     time.Time
	IdleExpiresAt time.Time // dead if not used before
	ExpiresAt     time.Time // absolute end, whatever its use
	RevokedAt     time.Time // zero while alive
}

// Live reports whether s may sign anyone in at now.
func (s SSOSession) Live(now time.Time) bool {
	return s.RevokedAt.IsZero() && now.Before(s.IdleExpiresAt) && now.Before(s.ExpiresAt)
}

// SSOSessions stores broker sessions.
type SSOSessions interface {
	// PutSSOSession stores s: a new session, or, when s.ID exists, its
	// new SecretHash, Provider, Facts, GroupsKnown, AuthTime and
	// expiries (the rotation at a trip upstream; CreatedAt and UserID
	// stay). ErrRevoked, changing nothing, if s.ID names a revoked
	// session; ErrAlreadyExists if SecretHash is another session's.
	PutSSOSession(ctx context.Context, s SSOSession) error
	// GetSSOSession returns the session whose secret hashes to
	// secretHash, revoked or expired alike; ErrNotFound if none.
	GetSSOSession(ctx context.Context, secretHash string) (SSOSession, error)
	// TouchSSOSession moves the idle end of session id, unless revoked,
	// to idleExpiresAt. ErrNotFound if unknown or revoked.
	TouchSSOSession(ctx context.Context, id string, idleExpiresAt time.Time) error
	// RevokeSSOSession ends session id and, in the same transaction,
	// every app session started from it that is not revoked yet, and
	// returns the ids of those. Ending an ended session again changes
	// nothing and returns no ids. ErrNotFound if unknown.
	RevokeSSOSession(ctx context.Context, id string, now time.Time) ([]string, error)
	// EndProviderSSOSessions ends every live broker session whose last
	// trip upstream went through provider, so that none is reused once
	// that name leads to another upstream (a connection deleted, or
	// pointed elsewhere). Their app sessions go on. It returns how many
	// ended.
	EndProviderSSOSessions(ctx context.Context, provider string, now time.Time) (int64, error)
}

// LogoutDelivery is a back-channel logout waiting to be sent: an app
// session ended (Session.RevokedAt went from zero to set), and its tenant
// may want to hear of it. The store queues one for every such change in
// the very transaction that makes it, whatever made it; the deliverer
// drops those whose tenant has no back-channel URI.
type LogoutDelivery struct {
	ID        int64
	SessionID string
	TenantID  string
	UserID    string
	// Attempts counts the claims of this delivery, the current one too.
	Attempts int
	// CreatedAt is when the session ended.
	CreatedAt     time.Time
	NextAttemptAt time.Time
}

// LogoutOutbox is the durable queue of back-channel logouts. Deliveries
// survive restarts, and a lease keeps replicas from sending one twice.
type LogoutOutbox interface {
	// ClaimLogouts takes up to limit deliveries due at now (NextAttemptAt
	// not after now), oldest due first, counts an attempt on each and
	// moves its NextAttemptAt to leaseUntil, so that no other claim takes
	// it before then, and returns them as claimed. Concurrent claims, on
	// any replica, never return the same delivery.
	ClaimLogouts(ctx context.Context, now, leaseUntil time.Time, limit int) ([]LogoutDelivery, error)
	// RetryLogout sets the NextAttemptAt of delivery id to at.
	// ErrNotFound if it is gone.
	RetryLogout(ctx context.Context, id int64, at time.Time) error
	// DeleteLogout removes delivery id: sent, given up, or not wanted.
	// Deleting what is gone is no error.
	DeleteLogout(ctx context.Context, id int64) error
}
