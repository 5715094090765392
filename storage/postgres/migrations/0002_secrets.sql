-- 0002: login states leave the database; the key that seals them into the
-- state parameter comes in.
--
-- secrets: the broker's own symmetric keys, shared by every replica like
-- the signing keys.
CREATE TABLE secrets (
	name       text        NOT NULL PRIMARY KEY,
	value      bytea       NOT NULL,
	created_at timestamptz
);

-- used_login_states: the hashes of the login states the callback has
-- spent, until they expire (storage.LoginStates). A state's expiry is
-- sealed inside it, so keying on (expires_at, id) is keying on id, and
-- keeps the index in expiry order: new entries land on its rightmost
-- page, and expired ones go from the left.
--
-- login_states, where earlier brokers kept each flow, stays for now:
-- replicas of the earlier version still write it during a rolling
-- upgrade, and clear it themselves. A later migration drops it.
CREATE TABLE used_login_states (
	expires_at timestamptz NOT NULL,
	id         text        NOT NULL,
	PRIMARY KEY (expires_at, id)
);
