-- Replicas poll for revocations by time (ListRevokedSessions).
CREATE INDEX sessions_by_revocation ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;
