package storage

import (
	"context"
	"errors"
	"time"
)

// ErrConflict: a write was refused because what it was based on has
// changed since it was read (an update carrying a stale Seq).
var ErrConflict = errors.New("storage: conflict")

// Record kinds: the configuration the admin API writes at runtime.
const (
	KindTenant     = "tenant"
	KindConnection = "connection"
	KindDomain     = "domain"
)

// Record is one piece of runtime configuration: a tenant, a connection
// (an upstream provider) or a domain of a connection. Its document is
// opaque to storage: internal/registry owns its shape and validation.
type Record struct {
	Kind string
	ID   string // unique per kind among live records
	// Owner is, for a connection, the tenant that owns it ("" when any
	// tenant may use it); for a domain, the connection holding it.
	Owner string
	Doc   []byte
	// Seq is the record's place in the change feed, assigned by the store
	// at each write from one counter shared by every kind; it only grows.
	Seq       int64
	CreatedAt time.Time
	UpdatedAt time.Time
	// Deleted marks a tombstone: RecordChanges reports deletions as
	// records with Deleted set (and no Doc). Get and List skip them.
	Deleted bool
}

// Records stores runtime configuration and the feed of its changes, by
// which every replica keeps its registries current without a database
// read per request.
type Records interface {
	// CreateRecord stores r (Kind, ID, Owner, Doc, CreatedAt, which is
	// also its UpdatedAt) with a new Seq and returns it as stored.
	// ErrAlreadyExists if a live record of that kind and id exists; a
	// tombstone is replaced.
	CreateRecord(ctx context.Context, r Record) (Record, error)
	// UpdateRecord overwrites Owner, Doc and UpdatedAt of the live record
	// (r.Kind, r.ID) if its Seq is still ifSeq, giving it a new Seq.
	// ErrNotFound if there is none, ErrConflict if its Seq has moved on.
	UpdateRecord(ctx context.Context, r Record, ifSeq int64) (Record, error)
	// DeleteRecord turns the live record into a tombstone with a new Seq.
	// ErrNotFound if there is none.
	DeleteRecord(ctx context.Context, kind, id string, now time.Time) error
	GetRecord(ctx context.Context, kind, id string) (Record, error)
	// ListRecords returns live records of kind in id order, after the id
	// after (exclusive), at most limit (all if limit <= 0); only those of
	// owner unless owner is "".
	ListRecords(ctx context.Context, kind, owner, after string, limit int) ([]Record, error)
	// RecordChanges returns every record, tombstones included, whose Seq
	// is above since, in Seq order. Seqs become visible in commit order:
	// once a poller has seen Seq n, no write commits later with a Seq at
	// or below n, so polling with the highest Seq seen misses nothing.
	RecordChanges(ctx context.Context, since int64) ([]Record, error)
}

// AdminKey is a key for the admin API. Only a hash of its secret is kept.
type AdminKey struct {
	ID     string // public, part of the key as presented
	Name   string
	Hash   []byte // SHA-256 of the secret part
	Scopes []string
	// Tenant restricts the key to one tenant's things ("" for none).
	Tenant    string
	CreatedAt time.Time
	RevokedAt time.Time // zero while valid
}

// AdminKeys stores admin keys.
type AdminKeys interface {
	// CreateAdminKey: ErrAlreadyExists if the id exists.
	CreateAdminKey(ctx context.Context, k AdminKey) error
	// GetAdminKey returns the key, revoked or not; ErrNotFound if unknown.
	GetAdminKey(ctx context.Context, id string) (AdminKey, error)
	// ListAdminKeys returns every key, revoked ones too, oldest first.
	ListAdminKeys(ctx context.Context) ([]AdminKey, error)
	// RevokeAdminKey sets RevokedAt if not set; ErrNotFound if unknown.
	RevokeAdminKey(ctx context.Context, id string, now time.Time) error
}

// AuditEvent is one entry of the audit log. It never holds a secret or
// a token.
type AuditEvent struct {
	ID     int64 // assigned by the store, increasing
	Time   time.Time
	Type   string // tenant.created, login.failed, ...
	Actor  string // admin key id, user id or "" for the broker itself
	Tenant string
	User   string
	IP     string
	Detail []byte // a JSON object, or nil
}

// AuditQuery selects audit events, newest first. Zero fields do not
// filter.
type AuditQuery struct {
	Type   string
	Tenant string
	Since  time.Time // events at or after
	Before int64     // events with an ID below (the paging cursor)
	Limit  int       // at most this many; all if <= 0
}

// Audit stores the audit log.
type Audit interface {
	// AppendAudit stores e and returns its ID.
	AppendAudit(ctx context.Context, e AuditEvent) (int64, error)
	// AppendAudits stores events in one transaction, in their order: how
	// events recorded off the request path (sign-ins) are written.
	AppendAudits(ctx context.Context, events []AuditEvent) error
	// ListAudit returns the events q selects, newest (highest ID) first.
	ListAudit(ctx context.Context, q AuditQuery) ([]AuditEvent, error)
	// DeleteAuditBefore deletes the events older than before (the
	// retention sweep) and returns how many.
	DeleteAuditBefore(ctx context.Context, before time.Time) (int64, error)
}

// UserQuery selects users, in id order. Zero fields do not filter.
type UserQuery struct {
	// Email matches the user's email or any of its identities' emails,
	// compared as stored (canonical form).
	Email string
	// Tenant keeps users holding a session (live or not) in that tenant.
	Tenant string
	After  string // users with an id above (the paging cursor)
	Limit  int    // at most this many; all if <= 0
}

// UserAdmin is what operators do to users and their sessions.
type UserAdmin interface {
	// ListUsers returns the users q selects; deleted users never.
	ListUsers(ctx context.Context, q UserQuery) ([]User, error)
	// SetUserDisabled sets or clears the user's disabled mark. Disabling
	// revokes, in the same transaction, every session of the user not yet
	// revoked. ErrNotFound if unknown.
	SetUserDisabled(ctx context.Context, id string, disabled bool, now time.Time) error
	// DeleteUser removes the user and its identities, so that a later
	// sign-in creates a new user. Its sessions are revoked at now and kept
	// (without their refresh tokens) until they expire, so that every
	// replica learns of the revocation through ListRevokedSessions.
	// ErrNotFound if unknown. Afterwards the user is unknown to every
	// method: GetUser, UpdateUser, AddIdentity and the UserAdmin methods
	// answer ErrNotFound, ListUserSessions nothing.
	DeleteUser(ctx context.Context, id string, now time.Time) error
	// ListUserSessions returns the user's live sessions (not revoked, not
	// expired at now), newest first; none for an unknown user.
	ListUserSessions(ctx context.Context, userID string, now time.Time) ([]Session, error)
	// RevokeTenantSessions revokes every live session of a tenant (not
	// revoked, not expired at now) and returns how many. It need not be
	// atomic: a backend may revoke in batches.
	RevokeTenantSessions(ctx context.Context, tenantID string, now time.Time) (int64, error)
}
