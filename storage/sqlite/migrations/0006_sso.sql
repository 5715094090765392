-- 0006: the broker's own browser session (SSO) and the back-channel
-- logout outbox.
--
-- sso_sessions: one browser's sign-in to the broker itself. id is stable
-- and not secret (app sessions name it); secret_hash is the hash of the
-- cookie's secret, replaced at every trip upstream, so that a cookie
-- copied before then signs no one in. No foreign key to users: deleting a
-- user must not be held up by its browsers, whose sessions then lead
-- nowhere (the reuse reads the user) and expire.
CREATE TABLE sso_sessions (
	id              TEXT    NOT NULL PRIMARY KEY,
	secret_hash     TEXT    NOT NULL UNIQUE,
	user_id         TEXT    NOT NULL,
	provider        TEXT    NOT NULL,
	facts           BLOB,
	groups_known    INTEGER NOT NULL,
	auth_time       INTEGER NOT NULL,
	created_at      INTEGER NOT NULL,
	idle_expires_at INTEGER NOT NULL,
	expires_at      INTEGER NOT NULL,
	revoked_at      INTEGER
) STRICT;

CREATE INDEX sso_sessions_by_expiry ON sso_sessions (expires_at);

-- sessions.sso_id: the broker session an app session was started from
-- ('' for none), so that ending it ends them.
ALTER TABLE sessions ADD COLUMN sso_id TEXT NOT NULL DEFAULT '';
CREATE INDEX sessions_by_sso ON sessions (sso_id) WHERE sso_id != '';

-- logout_outbox: back-channel logouts waiting to be delivered. The
-- trigger queues one whenever an app session's revoked_at goes from NULL
-- to set, in the revoking transaction itself, whatever path revokes it
-- (logout, refresh-token reuse, an admin, a disabled or deleted user, a
-- deleted tenant): no caller can forget it, and a crash cannot lose it.
-- next_attempt_at doubles as the lease of a delivery under way.
CREATE TABLE logout_outbox (
	id              INTEGER NOT NULL PRIMARY KEY,
	session_id      TEXT    NOT NULL,
	tenant_id       TEXT    NOT NULL,
	user_id         TEXT    NOT NULL,
	attempts        INTEGER NOT NULL DEFAULT 0,
	created_at      INTEGER NOT NULL,
	next_attempt_at INTEGER NOT NULL
) STRICT;

CREATE INDEX logout_outbox_by_due ON logout_outbox (next_attempt_at);

CREATE TRIGGER sessions_queue_logout AFTER UPDATE OF revoked_at ON sessions
WHEN old.revoked_at IS NULL AND new.revoked_at IS NOT NULL
BEGIN
	INSERT INTO logout_outbox (session_id, tenant_id, user_id, created_at, next_attempt_at)
	VALUES (new.id, new.tenant_id, new.user_id, new.revoked_at, new.revoked_at);
END;
