-- 0005: what the admin API keeps (issue 16): runtime configuration with
-- its change feed, admin keys, the audit log, and disabled or deleted
-- users.

-- records: tenants, connections and domains created at runtime, one table
-- for every kind (storage.Records). doc is opaque here. A deleted record
-- stays as a tombstone (deleted = 1, doc NULL) so that the change feed
-- reports its deletion; creating the record again replaces it.
CREATE TABLE records (
	kind       TEXT    NOT NULL,
	id         TEXT    NOT NULL,
	owner      TEXT    NOT NULL,
	doc        BLOB,
	seq        INTEGER NOT NULL,
	created_at INTEGER,
	updated_at INTEGER,
	deleted    INTEGER NOT NULL,
	PRIMARY KEY (kind, id)
) STRICT;

-- RecordChanges: everything above a seq, in seq order. Unique: one
-- counter numbers every write.
CREATE UNIQUE INDEX records_by_seq ON records (seq);

-- ListRecords of one owner, in id order; the primary key serves the
-- others.
CREATE INDEX records_by_owner ON records (kind, owner, id) WHERE deleted = 0;

-- record_seq: the one counter behind records.seq. It never goes back,
-- whatever happens to the rows that carry its values.
CREATE TABLE record_seq (
	one INTEGER NOT NULL PRIMARY KEY CHECK (one = 1),
	seq INTEGER NOT NULL
) STRICT;
INSERT INTO record_seq (one, seq) VALUES (1, 0);

-- admin_keys: only the hash of a key's secret is kept. scopes is a JSON
-- array of strings; tenant is '' for a key restricted to none.
CREATE TABLE admin_keys (
	id         TEXT    NOT NULL PRIMARY KEY,
	name       TEXT    NOT NULL,
	hash       BLOB    NOT NULL,
	scopes     TEXT    NOT NULL,
	tenant     TEXT    NOT NULL,
	created_at INTEGER,
	revoked_at INTEGER
) STRICT;

-- audit_events: AUTOINCREMENT so that an id is never given twice, even
-- after the newest events are deleted: ids are the paging cursor.
CREATE TABLE audit_events (
	id      INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
	time    INTEGER,
	type    TEXT    NOT NULL,
	actor   TEXT    NOT NULL,
	tenant  TEXT    NOT NULL,
	user_id TEXT    NOT NULL,
	ip      TEXT    NOT NULL,
	detail  BLOB
) STRICT;

-- ListAudit: newest first, by type or tenant or from a time on.
CREATE INDEX audit_events_by_type ON audit_events (type, id);
CREATE INDEX audit_events_by_tenant ON audit_events (tenant, id);
CREATE INDEX audit_events_by_time ON audit_events (time);

-- users.disabled: an operator has disabled the user.
ALTER TABLE users ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;

-- users.deleted_at: the user was deleted (UserAdmin.DeleteUser). Its row
-- stays, emptied of its profile, while sessions of it remain: they are
-- kept revoked until they expire, so that every replica hears of the
-- revocation (ListRevokedSessions), and sessions.user_id references
-- users. DeleteExpired removes the row with the last of them.
ALTER TABLE users ADD COLUMN deleted_at INTEGER;
CREATE INDEX users_deleted ON users (deleted_at) WHERE deleted_at IS NOT NULL;

-- ListUsers by email: the user's own, or any of its identities'.
CREATE INDEX users_by_email ON users (email);
CREATE INDEX identities_by_email ON identities (email);

-- ListUsers by tenant, and RevokeTenantSessions.
CREATE INDEX sessions_by_tenant ON sessions (tenant_id, user_id);
