import type { IncomingMessage, ServerResponse } from "node:http";

/**
 * A Connect/Node middleware serving the example's GET /api/reports and
 * POST /api/backchannel-logout (OpenID Connect Back-Channel Logout 1.0).
 */
export function reportsApi(options: {
  brokerUrl: () => string;
  /** The tenants this API serves: a logout token's aud must be one (by default any). */
  clientIds?: () => string[];
  onRequest?: (req: IncomingMessage) => void;
  /** Called with a verified logout token's claims (aud: the tenant). */
  onLogout?: (claims: Record<string, unknown>) => void;
}): (req: IncomingMessage, res: ServerResponse, next: () => void) => Promise<void>;
