-- 0001: the broker's whole schema as of SQLite's migration 0002 (the
-- revocation index included). This backend keeps its own history.
--
-- Conventions: times are timestamptz kept to the millisecond (as the SQLite
-- backend keeps them) and NULL when the Go value is the zero time; absent
-- strings are '' rather than NULL so that equality in WHERE clauses never
-- meets NULL. seq columns number rows in insertion order: they break ties
-- between equal created_at, as rowid does in SQLite.

CREATE TABLE users (
	id             text        NOT NULL PRIMARY KEY,
	seq            bigint      GENERATED ALWAYS AS IDENTITY,
	name           text        NOT NULL,
	email          text        NOT NULL,
	email_verified boolean     NOT NULL,
	picture        text        NOT NULL,
	created_at     timestamptz,
	updated_at     timestamptz
);

CREATE TABLE identities (
	provider       text        NOT NULL,
	subject        text        NOT NULL,
	seq            bigint      GENERATED ALWAYS AS IDENTITY,
	user_id        text        NOT NULL REFERENCES users (id),
	username       text        NOT NULL,
	email          text        NOT NULL,
	email_verified boolean     NOT NULL,
	email_trusted  boolean     NOT NULL,
	created_at     timestamptz,
	updated_at     timestamptz,
	PRIMARY KEY (provider, subject)
);

-- ListIdentities: a user's identities, oldest first.
CREATE INDEX identities_by_user ON identities (user_id, created_at, seq);

-- FindUserByTrustedEmail only ever looks at emails that may link accounts,
-- so the index holds only those.
CREATE INDEX identities_by_trusted_email ON identities (email)
	WHERE email_verified AND email_trusted;

CREATE TABLE login_states (
	id         text        NOT NULL PRIMARY KEY,
	data       bytea,
	expires_at timestamptz NOT NULL
);

CREATE INDEX login_states_by_expiry ON login_states (expires_at);

CREATE TABLE codes (
	hash           text        NOT NULL PRIMARY KEY,
	tenant_id      text        NOT NULL,
	redirect_uri   text        NOT NULL,
	code_challenge text        NOT NULL,
	-- No foreign key to sessions: the code flow stays free to order its
	-- inserts, and a code kept for CodeRetention may outlive its session.
	session_id     text        NOT NULL,
	user_id        text        NOT NULL,
	scope          text        NOT NULL,
	nonce          text        NOT NULL,
	expires_at     timestamptz NOT NULL,
	used_at        timestamptz
);

CREATE INDEX codes_by_expiry ON codes (expires_at);

CREATE TABLE sessions (
	id         text        NOT NULL PRIMARY KEY,
	user_id    text        NOT NULL REFERENCES users (id),
	tenant_id  text        NOT NULL,
	provider   text        NOT NULL,
	scope      text        NOT NULL,
	roles      text[]      NOT NULL, -- '{}' when none
	nonce      text        NOT NULL,
	auth_time  timestamptz,
	created_at timestamptz,
	expires_at timestamptz NOT NULL,
	revoked_at timestamptz
);

-- Foreign key checks on users look sessions up by user_id.
CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);
-- Replicas poll for revocations by time (ListRevokedSessions).
CREATE INDEX sessions_by_revocation ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;

CREATE TABLE refresh_tokens (
	hash             text        NOT NULL PRIMARY KEY,
	session_id       text        NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
	created_at       timestamptz,
	expires_at       timestamptz,
	used_at          timestamptz,
	successor_hash   text        NOT NULL,
	successor_sealed bytea
);

-- DeleteExpired removes a session's tokens with it; the foreign key's
-- cascade needs the same index.
CREATE INDEX refresh_tokens_by_session ON refresh_tokens (session_id);

CREATE TABLE signing_keys (
	id          text        NOT NULL PRIMARY KEY,
	seq         bigint      GENERATED ALWAYS AS IDENTITY,
	alg         text        NOT NULL,
	private_key bytea       NOT NULL,
	created_at  timestamptz,
	retired_at  timestamptz,
	expires_at  timestamptz -- NULL: never expires
);

-- ListKeys: newest first. No index on expires_at: the table holds a
-- handful of keys, and DeleteExpired's scan of them costs nothing.
CREATE INDEX signing_keys_by_created ON signing_keys (created_at, seq);
