// The example's "API": a resource server as an app team would write one.
// It trusts no token by itself: it asks the broker (GET /auth/check) and
// relays the broker's 401 as is, so the SPA's interceptor sees
// {"error":"token_expired"} and refreshes. It also receives the broker's
// back-channel logouts (OpenID Connect Back-Channel Logout 1.0) at
// POST /api/backchannel-logout, and from then on refuses the tokens of a
// session that ended without asking the broker. Used by Vite (dev and
// preview) and by the browser tests' static server.

const reports = [
  { id: "r-101", title: "Weekly sign-ins", owner: "growth", value: "1,284" },
  { id: "r-102", title: "Active sessions", owner: "platform", value: "312" },
  { id: "r-103", title: "Refreshes today", owner: "platform", value: "9,876" },
];

const BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout";

/**
 * A Connect/Node middleware serving GET /api/reports and
 * POST /api/backchannel-logout.
 * @param {{
 *   brokerUrl: () => string,
 *   clientIds?: () => string[],
 *   onRequest?: (req: import("node:http").IncomingMessage) => void,
 *   onLogout?: (claims: Record<string, unknown>) => void,
 * }} options clientIds: the tenants this API serves (a logout token's aud); by default any.
 */
export function reportsApi(options) {
  const ended = new Set(); // "tenant sid" of sessions ended by a back-channel logout
  const seen = new Set(); // logout tokens' jti: each is taken once
  const keys = jwks(options.brokerUrl);

  return async (req, res, next) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (!url.pathname.startsWith("/api/")) return next();
    options.onRequest?.(req);
    const send = (status, body, headers = {}) => {
      res.writeHead(status, { "Content-Type": "application/json", "Cache-Control": "no-store", ...headers });
      res.end(JSON.stringify(body));
    };
    if (url.pathname === "/api/backchannel-logout") {
      if (req.method !== "POST") return send(405, { error: "invalid_request" });
      let claims;
      try {
        const token = new URLSearchParams(await readBody(req)).get("logout_token") ?? "";
        claims = await verifyLogoutToken(token, { issuer: options.brokerUrl(), clientIds: options.clientIds?.(), keys, seen });
      } catch (e) {
        return send(400, { error: "invalid_request", error_description: e instanceof Error ? e.message : String(e) });
      }
      ended.add(`${claims.aud} ${claims.sid}`);
      options.onLogout?.(claims);
      return send(200, {});
    }
    if (req.method !== "GET" || url.pathname !== "/api/reports") return send(404, { error: "not_found" });
    const headers = {};
    if (req.headers.authorization) headers.Authorization = req.headers.authorization;
    if (req.headers["x-tenant-id"]) headers["X-Tenant-ID"] = req.headers["x-tenant-id"];
    const presented = payload(String(req.headers.authorization ?? "").replace(/^Bearer /i, ""));
    const aud = Array.isArray(presented?.aud) ? presented.aud : [presented?.aud];
    if (presented?.sid && aud.some((a) => ended.has(`${a} ${presented.sid}`))) {
      return send(401, { error: "invalid_token", error_description: "the session ended (back-channel logout)" });
    }
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

function readBody(req) {
  return new Promise((resolve, reject) => {
    let b = "";
    req.setEncoding("utf8");
    req.on("data", (d) => {
      b += d;
      if (b.length > 64 * 1024) reject(new Error("body too large"));
    });
    req.on("end", () => resolve(b));
    req.on("error", reject);
  });
}

const b64 = (s) => Buffer.from(s, "base64url");

/** A JWT's payload, unverified; null when it is not one. */
function payload(jwt) {
  try {
    return JSON.parse(b64(jwt.split(".")[1] ?? "").toString("utf8"));
  } catch {
    return null;
  }
}

/** The broker's signing keys (its JWKS), fetched again when a token names an unknown kid. */
function jwks(brokerUrl) {
  let cached = null;
  const load = async () => {
    const res = await fetch(`${brokerUrl()}/.well-known/jwks.json`);
    if (!res.ok) throw new Error(`JWKS: ${res.status}`);
    cached = (await res.json()).keys ?? [];
    return cached;
  };
  return async (kid) => {
    const find = (ks) => ks.find((k) => k.kid === kid);
    return find(cached ?? (await load())) ?? find(await load());
  };
}

const algs = {
  ES256: { import: { name: "ECDSA", namedCurve: "P-256" }, verify: { name: "ECDSA", hash: "SHA-256" } },
  RS256: { import: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, verify: { name: "RSASSA-PKCS1-v1_5" } },
  EdDSA: { import: { name: "Ed25519" }, verify: { name: "Ed25519" } },
};

/**
 * Validates a logout token as OpenID Connect Back-Channel Logout 1.0 §2.6
 * says: signed by the broker (its JWKS), typ logout+jwt, iss, aud, iat and
 * exp, the back-channel event, a sid, no nonce, and a jti not seen before.
 */
async function verifyLogoutToken(token, { issuer, clientIds, keys, seen }) {
  const [h, p, sig, extra] = token.split(".");
  if (!h || !p || !sig || extra !== undefined) throw new Error("not a JWT");
  const header = JSON.parse(b64(h).toString("utf8"));
  if (header.typ !== "logout+jwt") throw new Error(`typ ${header.typ}`);
  const alg = algs[header.alg];
  if (!alg) throw new Error(`alg ${header.alg}`);
  const jwk = await keys(header.kid);
  if (!jwk) throw new Error(`unknown key ${header.kid}`);
  const key = await crypto.subtle.importKey("jwk", jwk, alg.import, false, ["verify"]);
  if (!(await crypto.subtle.verify(alg.verify, key, b64(sig), Buffer.from(`${h}.${p}`)))) throw new Error("bad signature");
  const c = JSON.parse(b64(p).toString("utf8"));
  const now = Date.now() / 1000;
  const aud = Array.isArray(c.aud) ? c.aud : [c.aud];
  if (c.iss !== issuer) throw new Error(`iss ${c.iss}`);
  if (clientIds && !aud.some((a) => clientIds.includes(a))) throw new Error(`aud ${c.aud}`);
  if (typeof c.iat !== "number" || typeof c.exp !== "number" || c.exp < now - 60) throw new Error("expired");
  if (!c.events || typeof c.events[BACKCHANNEL_EVENT] !== "object") throw new Error("not a back-channel logout event");
  if (typeof c.sid !== "string" || !c.sid) throw new Error("no sid");
  if ("nonce" in c) throw new Error("a logout token has no nonce");
  if (typeof c.jti !== "string" || seen.has(c.jti)) throw new Error("jti missing or replayed");
  seen.add(c.jti);
  return { ...c, aud: aud[0] };
}
