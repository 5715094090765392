-- 0003: login states leave the database; the key that seals them into the
-- state parameter comes in.
--
-- secrets: the broker's own symmetric keys, shared by every process on the
-- file like the signing keys.
CREATE TABLE secrets (
	name       TEXT    NOT NULL PRIMARY KEY,
	value      BLOB    NOT NULL,
	created_at INTEGER
) STRICT;

-- used_login_states: the hashes of the login states the callback has
-- spent, until they expire (storage.LoginStates). A state's expiry is
-- sealed inside it, so keying on (expires_at, id) is keying on id, and
-- keeps the table in expiry order: a new row lands on the last page,
-- which every sign-in of a group commit shares, and expired rows go from
-- the front. Earlier brokers kept each flow in login_states instead.
DROP TABLE login_states;

CREATE TABLE used_login_states (
	expires_at INTEGER NOT NULL,
	id         TEXT    NOT NULL,
	PRIMARY KEY (expires_at, id)
) STRICT, WITHOUT ROWID;
