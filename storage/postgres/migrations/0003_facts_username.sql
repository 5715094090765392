-- 0003: what access rules and roles are re-judged from at every refresh,
-- and the username a user's ID token and userinfo show.
--
-- sessions.facts: what the upstream asserted at the session's sign-in, as
-- the broker vouches for it (internal/accounts owns its encoding). NULL
-- for sessions started by an earlier broker, or by one still running
-- during a rolling upgrade: those keep the roles they were signed in with.
ALTER TABLE sessions ADD COLUMN facts bytea;

-- users.username: preferred_username, from the identity of the latest
-- sign-in. Earlier brokers' inserts get the default.
ALTER TABLE users ADD COLUMN username text NOT NULL DEFAULT '';
