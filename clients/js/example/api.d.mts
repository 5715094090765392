import type { IncomingMessage, ServerResponse } from "node:http";

/** A Connect/Node middleware serving the example's GET /api/reports. */
export function reportsApi(options: {
  brokerUrl: () => string;
  onRequest?: (req: IncomingMessage) => void;
}): (req: IncomingMessage, res: ServerResponse, next: () => void) => Promise<void>;
