-- 0006: disabling a user ends its broker sessions (SetUserDisabled), found
-- by user: without this index that update would scan every broker session.
CREATE INDEX sso_sessions_by_user ON sso_sessions (user_id) WHERE revoked_at IS NULL;
