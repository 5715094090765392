// The example's "API": a resource server as an app team would write one.
// It trusts no token by itself: it asks the broker (GET /auth/check) and
// relays the broker's 401 as is, so the SPA's interceptor sees
// {"error":"token_expired"} and refreshes. Used by Vite (dev and preview)
// and by the browser tests' static server.

const reports = [
  { id: "r-101", title: "Weekly sign-ins", owner: "growth", value: "1,284" },
  { id: "r-102", title: "Active sessions", owner: "platform", value: "312" },
  { id: "r-103", title: "Refreshes today", owner: "platform", value: "9,876" },
];

/**
 * A Connect/Node middleware serving GET /api/reports.
 * @param {{ brokerUrl: () => string, onRequest?: (req: import("node:http").IncomingMessage) => void }} options
 */
export function reportsApi(options) {
  return async (req, res, next) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (!url.pathname.startsWith("/api/")) return next();
    options.onRequest?.(req);
    const send = (status, body, headers = {}) => {
      res.writeHead(status, { "Content-Type": "application/json", "Cache-Control": "no-store", ...headers });
      res.end(JSON.stringify(body));
    };
    if (req.method !== "GET" || url.pathname !== "/api/reports") return send(404, { error: "not_found" });
    const headers = {};
    if (req.headers.authorization) headers.Authorization = req.headers.authorization;
    if (req.headers["x-tenant-id"]) headers["X-Tenant-ID"] = req.headers["x-tenant-id"];
    let check;
    try {
      check = await fetch(`${options.brokerUrl()}/auth/check`, { headers });
    } catch {
      return send(502, { error: "broker_unreachable" });
    }
    const body = await check.json().catch(() => ({}));
    if (check.status !== 200) {
      const www = check.headers.get("www-authenticate");
      return send(check.status, body, www ? { "WWW-Authenticate": www } : {});
    }
    send(200, { owner: body.sub, tenant: body.tenant, reports, at: new Date().toISOString() });
  };
}
