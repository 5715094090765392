-- 0004: what the admin API keeps (issue 16): runtime configuration with
-- its change feed, admin keys, the audit log, and disabled or deleted
-- users.

-- records: tenants, connections and domains created at runtime, one table
-- for every kind (storage.Records). doc is opaque here. A deleted record
-- stays as a tombstone (deleted, doc NULL) so that the change feed reports
-- its deletion; creating the record again replaces it.
CREATE TABLE records (
	kind       text        NOT NULL,
	id         text        NOT NULL,
	owner      text        NOT NULL,
	doc        bytea,
	seq        bigint      NOT NULL,
	created_at timestamptz,
	updated_at timestamptz,
	deleted    boolean     NOT NULL,
	PRIMARY KEY (kind, id)
);

-- RecordChanges: everything above a seq, in seq order. Unique: one
-- counter numbers every write.
CREATE UNIQUE INDEX records_by_seq ON records (seq);

-- ListRecords of one owner, in id order; the primary key serves the
-- others.
CREATE INDEX records_by_owner ON records (kind, owner, id) WHERE NOT deleted;

-- record_seq: the one counter behind records.seq, a row rather than a
-- sequence so that seqs are handed out in commit order (see records.go in
-- this package).
CREATE TABLE record_seq (
	one boolean NOT NULL PRIMARY KEY DEFAULT true CHECK (one),
	seq bigint  NOT NULL
);
INSERT INTO record_seq (one, seq) VALUES (true, 0);

-- admin_keys: only the hash of a key's secret is kept. tenant is '' for a
-- key restricted to none.
CREATE TABLE admin_keys (
	id         text        NOT NULL PRIMARY KEY,
	seq        bigint      GENERATED ALWAYS AS IDENTITY,
	name       text        NOT NULL,
	hash       bytea       NOT NULL,
	scopes     text[]      NOT NULL, -- '{}' when none
	tenant     text        NOT NULL,
	created_at timestamptz,
	revoked_at timestamptz
);

-- audit_events: ids are the paging cursor; identity values are never
-- given twice.
CREATE TABLE audit_events (
	id      bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	time    timestamptz,
	type    text        NOT NULL,
	actor   text        NOT NULL,
	tenant  text        NOT NULL,
	user_id text        NOT NULL,
	ip      text        NOT NULL,
	detail  bytea       -- a JSON object as the caller gave it
);

-- ListAudit: newest first, by type or tenant or from a time on.
CREATE INDEX audit_events_by_type ON audit_events (type, id);
CREATE INDEX audit_events_by_tenant ON audit_events (tenant, id);
CREATE INDEX audit_events_by_time ON audit_events (time);

-- users.disabled: an operator has disabled the user. Earlier brokers'
-- inserts get the default.
ALTER TABLE users ADD COLUMN disabled boolean NOT NULL DEFAULT false;

-- users.deleted_at: the user was deleted (UserAdmin.DeleteUser). Its row
-- stays, emptied of its profile, while sessions of it remain: they are
-- kept revoked until they expire, so that every replica hears of the
-- revocation (ListRevokedSessions), and sessions.user_id references
-- users. DeleteExpired removes the row with the last of them.
ALTER TABLE users ADD COLUMN deleted_at timestamptz;
CREATE INDEX users_deleted ON users (deleted_at) WHERE deleted_at IS NOT NULL;

-- ListUsers by email: the user's own, or any of its identities'.
CREATE INDEX users_by_email ON users (email);
CREATE INDEX identities_by_email ON identities (email);

-- ListUsers by tenant, and RevokeTenantSessions.
CREATE INDEX sessions_by_tenant ON sessions (tenant_id, user_id);
