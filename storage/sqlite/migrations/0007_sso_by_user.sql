-- 0007: disabling a user ends its broker sessions (SetUserDisabled), found
-- by user: without this index that write would scan every broker session
-- while holding the one writer.
CREATE INDEX sso_sessions_by_user ON sso_sessions (user_id) WHERE revoked_at IS NULL;
