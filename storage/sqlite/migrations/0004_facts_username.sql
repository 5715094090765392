-- 0004: what access rules and roles are re-judged from at every refresh,
-- and the username a user's ID token and userinfo show.
--
-- sessions.facts: what the upstream asserted at the session's sign-in, as
-- the broker vouches for it (internal/accounts owns its encoding). NULL
-- for sessions started by an earlier broker: those keep the roles they
-- were signed in with.
ALTER TABLE sessions ADD COLUMN facts BLOB;

-- users.username: preferred_username, from the identity of the latest
-- sign-in.
ALTER TABLE users ADD COLUMN username TEXT NOT NULL DEFAULT '';
