-- 0001: the broker's first schema.
--
-- Conventions: times are INTEGER unix milliseconds (UTC) and NULL when the
-- Go value is the zero time; absent strings are '' rather than NULL so that
-- equality in WHERE clauses never meets NULL; tables are STRICT so a wrong
-- bind type fails instead of being stored silently.

CREATE TABLE users (
	id             TEXT    NOT NULL PRIMARY KEY,
	name           TEXT    NOT NULL,
	email          TEXT    NOT NULL,
	email_verified INTEGER NOT NULL,
	picture        TEXT    NOT NULL,
	created_at     INTEGER,
	updated_at     INTEGER
) STRICT;

CREATE TABLE identities (
	provider       TEXT    NOT NULL,
	subject        TEXT    NOT NULL,
	user_id        TEXT    NOT NULL REFERENCES users (id),
	username       TEXT    NOT NULL,
	email          TEXT    NOT NULL,
	email_verified INTEGER NOT NULL,
	email_trusted  INTEGER NOT NULL,
	created_at     INTEGER,
	updated_at     INTEGER,
	PRIMARY KEY (provider, subject)
) STRICT;

-- ListIdentities: a user's identities, oldest first.
CREATE INDEX identities_by_user ON identities (user_id, created_at);

-- FindUserByTrustedEmail only ever looks at emails that may link accounts,
-- so the index holds only those.
CREATE INDEX identities_by_trusted_email ON identities (email)
	WHERE email_verified = 1 AND email_trusted = 1;

CREATE TABLE login_states (
	id         TEXT    NOT NULL PRIMARY KEY,
	data       BLOB,
	expires_at INTEGER NOT NULL
) STRICT;

CREATE INDEX login_states_by_expiry ON login_states (expires_at);

CREATE TABLE codes (
	hash           TEXT    NOT NULL PRIMARY KEY,
	tenant_id      TEXT    NOT NULL,
	redirect_uri   TEXT    NOT NULL,
	code_challenge TEXT    NOT NULL,
	-- No foreign key to sessions: the code flow stays free to order its
	-- inserts, and a code kept for CodeRetention may outlive its session.
	session_id     TEXT    NOT NULL,
	user_id        TEXT    NOT NULL,
	scope          TEXT    NOT NULL,
	nonce          TEXT    NOT NULL,
	expires_at     INTEGER NOT NULL,
	used_at        INTEGER
) STRICT;

CREATE INDEX codes_by_expiry ON codes (expires_at);

CREATE TABLE sessions (
	id         TEXT    NOT NULL PRIMARY KEY,
	user_id    TEXT    NOT NULL REFERENCES users (id),
	tenant_id  TEXT    NOT NULL,
	provider   TEXT    NOT NULL,
	scope      TEXT    NOT NULL,
	roles      TEXT    NOT NULL, -- JSON array of strings
	nonce      TEXT    NOT NULL,
	auth_time  INTEGER,
	created_at INTEGER,
	expires_at INTEGER NOT NULL,
	revoked_at INTEGER
) STRICT;

-- Foreign key checks on users look sessions up by user_id.
CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE INDEX sessions_by_expiry ON sessions (expires_at);

CREATE TABLE refresh_tokens (
	hash             TEXT    NOT NULL PRIMARY KEY,
	session_id       TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
	created_at       INTEGER,
	expires_at       INTEGER,
	used_at          INTEGER,
	successor_hash   TEXT    NOT NULL,
	successor_sealed BLOB
) STRICT;

-- DeleteExpired removes a session's tokens with it; the foreign key's
-- cascade needs the same index.
CREATE INDEX refresh_tokens_by_session ON refresh_tokens (session_id);

CREATE TABLE signing_keys (
	id          TEXT    NOT NULL PRIMARY KEY,
	alg         TEXT    NOT NULL,
	private_key BLOB    NOT NULL,
	created_at  INTEGER,
	retired_at  INTEGER,
	expires_at  INTEGER -- NULL: never expires
) STRICT;

-- ListKeys: newest first. No index on expires_at: the table holds a
-- handful of keys, and DeleteExpired's scan of them costs nothing.
CREATE INDEX signing_keys_by_created ON signing_keys (created_at);
