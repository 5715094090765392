-- 0005: the broker's own browser session (SSO) and the back-channel
-- logout outbox.
--
-- sso_sessions: one browser's sign-in to the broker itself. id is stable
-- and not secret (app sessions name it); secret_hash is the hash of the
-- cookie's secret, replaced at every trip upstream, so that a cookie
-- copied before then signs no one in. No foreign key to users: deleting a
-- user must not be held up by its browsers, whose sessions then lead
-- nowhere (the reuse reads the user) and expire.
CREATE TABLE sso_sessions (
	id              text        NOT NULL PRIMARY KEY,
	secret_hash     text        NOT NULL UNIQUE,
	user_id         text        NOT NULL,
	provider        text        NOT NULL,
	facts           bytea,
	groups_known    boolean     NOT NULL,
	auth_time       timestamptz NOT NULL,
	created_at      timestamptz NOT NULL,
	idle_expires_at timestamptz NOT NULL,
	expires_at      timestamptz NOT NULL,
	revoked_at      timestamptz
);

CREATE INDEX sso_sessions_by_expiry ON sso_sessions (expires_at);

-- sessions.sso_id: the broker session an app session was started from
-- ('' for none), so that ending it ends them. Earlier brokers' inserts get
-- the default during a rolling upgrade.
ALTER TABLE sessions ADD COLUMN sso_id text NOT NULL DEFAULT '';
CREATE INDEX sessions_by_sso ON sessions (sso_id) WHERE sso_id <> '';

-- logout_outbox: back-channel logouts waiting to be delivered. The
-- trigger queues one whenever an app session's revoked_at goes from NULL
-- to set, in the revoking transaction itself, whatever path revokes it
-- (logout, refresh-token reuse, an admin, a disabled or deleted user, a
-- deleted tenant): no caller can forget it, and a crash cannot lose it.
-- next_attempt_at doubles as the lease of a delivery under way.
CREATE TABLE logout_outbox (
	id              bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	session_id      text        NOT NULL,
	tenant_id       text        NOT NULL,
	user_id         text        NOT NULL,
	attempts        integer     NOT NULL DEFAULT 0,
	created_at      timestamptz NOT NULL,
	next_attempt_at timestamptz NOT NULL
);

CREATE INDEX logout_outbox_by_due ON logout_outbox (next_attempt_at);

CREATE FUNCTION queue_backchannel_logout() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO logout_outbox (session_id, tenant_id, user_id, created_at, next_attempt_at)
	VALUES (NEW.id, NEW.tenant_id, NEW.user_id, NEW.revoked_at, NEW.revoked_at);
	RETURN NULL;
END
$$;

CREATE TRIGGER sessions_queue_logout AFTER UPDATE OF revoked_at ON sessions
FOR EACH ROW WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
EXECUTE FUNCTION queue_backchannel_logout();
