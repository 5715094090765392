// Test doubles: a broker that follows the real one's contract (and is
// stricter about refresh token reuse: any second use of a refresh token is
// refused, so a test catches a double spend), an API behind it, Web
// Storage, and a channel bus that connects "tabs" in one process.
import { createHash, randomBytes } from "node:crypto";
import { BrokerClient, type BrokerClientOptions } from "../src/client.js";
import { localLocks, type ChannelLike, type LockManagerLike } from "../src/crosstab.js";
import { MapStorage } from "../src/storage.js";

export const ISSUER = "https://broker.test";
export const CLIENT = "spa";
export const REDIRECT = "https://app.test/callback";
export const ORIGIN = "https://app.test";

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
const rand = () => randomBytes(16).toString("base64url");

export interface Call {
  method: string;
  path: string;
  headers: Headers;
  body: string;
  credentials: RequestCredentials | undefined;
}

interface Session {
  sid: string;
  revoked: boolean;
}

/** A broker as the client sees it, through fetch. */
export class FakeBroker {
  mode: "body" | "cookie" = "body";
  ttl = 900; // access token lifetime the broker announces, seconds
  calls: Call[] = [];
  /** The browser's cookie jar for the broker (shared by a browser's tabs). */
  cookie: string | null = null;
  /** Makes /auth/refresh fail: a status, or "network". */
  refreshFailure: number | "network" | null = null;
  /** Delays /auth/refresh answers, ms. */
  refreshDelay = 0;
  /** Whether the browser has a broker session (its SSO cookie): set by a sign-in, ended by logout everywhere. */
  sso = false;
  /** How many sign-ins went to the upstream (not answered from the broker session). */
  upstreamTrips = 0;

  private readonly codes = new Map<string, { challenge: string; nonce: string; sid: string }>();
  private readonly sessions = new Map<string, Session>();
  private readonly refreshTokens = new Map<string, { sid: string; spent: boolean }>();
  private readonly access = new Map<string, { sid: string; expired: boolean }>();
  private seq = 0;

  get refreshes(): Call[] {
    return this.calls.filter((c) => c.path === "/auth/refresh");
  }
  get logouts(): Call[] {
    return this.calls.filter((c) => c.path === "/auth/logout");
  }

  /**
   * What the broker's /authorize (and, without a broker session, the
   * upstream round trip) ends in: the app's callback URL. prompt=none
   * without a broker session ends in error=login_required.
   */
  callbackFor(authorizeUrl: string, extra: Record<string, string> = {}): string {
    const q = new URL(authorizeUrl).searchParams;
    if (q.get("prompt") === "none" && !this.sso) {
      const cb = new URL(q.get("redirect_uri") ?? REDIRECT);
      cb.searchParams.set("error", "login_required");
      cb.searchParams.set("state", q.get("state") ?? "");
      cb.searchParams.set("iss", ISSUER);
      return cb.toString();
    }
    if (!this.sso) this.upstreamTrips++;
    this.sso = true;
    const code = rand();
    const sid = "sid-" + ++this.seq;
    this.sessions.set(sid, { sid, revoked: false });
    this.codes.set(code, { challenge: q.get("code_challenge") ?? "", nonce: q.get("nonce") ?? "", sid });
    const cb = new URL(q.get("redirect_uri") ?? REDIRECT);
    cb.searchParams.set("code", code);
    cb.searchParams.set("state", q.get("state") ?? "");
    cb.searchParams.set("iss", ISSUER);
    for (const [k, v] of Object.entries(extra)) cb.searchParams.set(k, v);
    return cb.toString();
  }

  /** The server's clock passes every access token's expiry. */
  expireAccessTokens(): void {
    for (const a of this.access.values()) a.expired = true;
  }

  /** Whether an access token is valid now. */
  verify(token: string | undefined): "ok" | "token_expired" | "invalid_token" {
    const a = token ? this.access.get(token) : undefined;
    if (!a || this.sessions.get(a.sid)?.revoked) return "invalid_token";
    return a.expired ? "token_expired" : "ok";
  }

  revokeAll(): void {
    for (const s of this.sessions.values()) s.revoked = true;
  }

  private mint(sid: string, withID: string | null) {
    const jti = "jti-" + ++this.seq;
    const at = `${b64({ typ: "at+jwt", alg: "ES256" })}.${b64({ iss: ISSUER, sub: "user-1", aud: CLIENT, sid, jti, iat: this.seq })}.sig`;
    this.access.set(at, { sid, expired: false });
    const rt = sid + "." + rand();
    this.refreshTokens.set(rt, { sid, spent: false });
    const id = withID === null ? undefined : `${b64({ alg: "ES256" })}.${b64({ iss: ISSUER, aud: CLIENT, sub: "user-1", nonce: withID, sid })}.sig`;
    return { at, rt, id };
  }

  private setCookie(rt: string | null): void {
    this.cookie = rt;
  }

  fetch = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(String(input));
    const headers = new Headers(init.headers);
    const body = typeof init.body === "string" ? init.body : "";
    const call: Call = { method: init.method ?? "GET", path: url.pathname, headers, body, credentials: init.credentials };
    this.calls.push(call);
    const json = (status: number, v: unknown) =>
      new Response(JSON.stringify(v), { status, headers: { "Content-Type": "application/json" } });
    const params = (): Record<string, string> =>
      headers.get("Content-Type")?.includes("json")
        ? (JSON.parse(body || "{}") as Record<string, string>)
        : Object.fromEntries(new URLSearchParams(body));
    const bearer = headers.get("Authorization")?.replace(/^Bearer /, "");
    const cookieSent = init.credentials === "include" ? this.cookie : null;
    const csrfOK = headers.get("X-Broker-CSRF") === "1" && headers.get("X-Tenant-ID") === CLIENT;

    switch (url.pathname) {
      case "/token": {
        if (this.mode === "cookie" && !csrfOK) return json(403, { error: "invalid_request", error_description: "csrf" });
        const p = params();
        const c = this.codes.get(p["code"] ?? "");
        this.codes.delete(p["code"] ?? "");
        const challenge = createHash("sha256").update(p["code_verifier"] ?? "").digest("base64url");
        if (!c || c.challenge !== challenge || p["client_id"] !== CLIENT || p["redirect_uri"] !== REDIRECT) {
          return json(400, { error: "invalid_grant", error_description: "bad code" });
        }
        const t = this.mint(c.sid, c.nonce);
        const out: Record<string, unknown> = { access_token: t.at, token_type: "Bearer", expires_in: this.ttl, scope: "openid email profile", id_token: t.id };
        if (this.mode === "body") out["refresh_token"] = t.rt;
        else if (init.credentials === "include") this.setCookie(t.rt);
        return json(200, out);
      }
      case "/auth/refresh": {
        if (this.refreshDelay) await new Promise((r) => setTimeout(r, this.refreshDelay));
        if (this.refreshFailure === "network") throw new TypeError("fetch failed");
        if (this.refreshFailure !== null) return json(this.refreshFailure, { error: "invalid_grant", message: "refresh refused" });
        let presented: string | null;
        if (this.mode === "cookie") {
          if (!csrfOK) return json(403, { error: "invalid_request", message: "csrf" });
          presented = cookieSent;
        } else {
          presented = params()["refreshToken"] ?? null;
        }
        const r = presented ? this.refreshTokens.get(presented) : undefined;
        if (!r || r.spent || this.sessions.get(r.sid)?.revoked) {
          if (r?.spent) this.sessions.get(r.sid)!.revoked = true; // strict reuse detection
          if (this.mode === "cookie") this.setCookie(null);
          return json(401, { error: "invalid_grant", message: r?.spent ? "refresh token reused" : "refresh token invalid" });
        }
        r.spent = true;
        const t = this.mint(r.sid, null);
        const out: Record<string, unknown> = { accessToken: t.at, expiresIn: this.ttl, tokenType: "Bearer" };
        if (this.mode === "body") out["refreshToken"] = t.rt;
        else this.setCookie(t.rt);
        return json(200, out);
      }
      case "/auth/logout": {
        const everywhere = headers.get("Content-Type")?.includes("json") && (JSON.parse(body || "{}") as { everywhere?: unknown }).everywhere === true;
        if (everywhere) {
          this.sso = false;
          this.revokeAll();
        }
        if (this.mode === "cookie") {
          if (!csrfOK) return json(403, { error: "invalid_request", message: "csrf" });
          const r = cookieSent ? this.refreshTokens.get(cookieSent) : undefined;
          if (r) this.sessions.get(r.sid)!.revoked = true;
          this.setCookie(null);
        }
        const p = params();
        const r = p["refreshToken"] ? this.refreshTokens.get(p["refreshToken"]) : undefined;
        if (r) this.sessions.get(r.sid)!.revoked = true;
        const a = bearer ? this.access.get(bearer) : undefined;
        if (a) this.sessions.get(a.sid)!.revoked = true;
        return json(200, { success: true });
      }
      case "/auth/check":
      case "/auth/me":
      case "/auth/permissions": {
        const v = this.verify(bearer);
        if (v !== "ok") return json(401, { error: v, message: v === "token_expired" ? "TokenExpiredError" : "JsonWebTokenError" });
        if (headers.get("X-Tenant-ID") !== CLIENT) return json(401, { error: "invalid_token" });
        if (url.pathname === "/auth/me") {
          return json(200, { id: "user-1", tenant: CLIENT, name: "Alice", email: "alice@acme.test", emailVerified: true, avatar: "", roles: ["admin"], identities: [] });
        }
        if (url.pathname === "/auth/permissions") return json(200, { roles: ["admin"], permissions: ["users:write"] });
        return json(200, { authenticated: true, sub: "user-1", tenant: CLIENT });
      }
    }
    return json(404, { error: "not_found" });
  };
}

/** A channel bus: "tabs" of one browser. delay postpones delivery (ms). */
export function bus(delay = 0): { open: (name: string) => ChannelLike; closeAll: () => void } {
  const members = new Set<ChannelLike & { name: string }>();
  return {
    open(name: string) {
      const ch: ChannelLike & { name: string } = {
        name,
        onmessage: null,
        postMessage(m: unknown) {
          const copy = structuredClone(m);
          for (const o of members) {
            if (o === ch || o.name !== name) continue;
            setTimeout(() => o.onmessage?.({ data: copy }), delay);
          }
        },
        close() {
          members.delete(ch);
        },
      };
      members.add(ch);
      return ch;
    },
    closeAll() {
      members.clear();
    },
  };
}

/** A browser: its broker cookie jar, localStorage, Web Locks and tabs' channel. */
export class FakeBrowser {
  readonly broker: FakeBroker;
  readonly localStorage = new MapStorage();
  readonly locks: LockManagerLike = localLocks();
  readonly channels: ReturnType<typeof bus>;
  navigations: string[] = [];
  clock = { now: 1_000_000 };
  private readonly tabs: BrokerClient[] = [];

  constructor(broker = new FakeBroker(), busDelay = 0) {
    this.broker = broker;
    this.channels = bus(busDelay);
  }

  /** A new tab of the app: its own sessionStorage and memory. */
  tab(options: Partial<BrokerClientOptions> = {}): BrokerClient {
    const c = new BrokerClient({
      issuer: ISSUER,
      clientId: CLIENT,
      redirectUri: REDIRECT,
      fetch: this.broker.fetch,
      locks: this.locks,
      channel: this.channels.open,
      pendingStorage: new MapStorage(),
      hintStorage: this.localStorage,
      navigate: (u) => this.navigations.push(u),
      now: () => this.clock.now,
      peerTimeoutMs: 250, // an answer ends the wait at once; a loaded machine may stall timers for tens of ms
      ...options,
    });
    this.tabs.push(c);
    return c;
  }

  /** Signs tab in through the whole redirect dance. */
  async signIn(tab: BrokerClient, provider = "github"): Promise<void> {
    await tab.login({ provider });
    const url = this.navigations.at(-1)!;
    await tab.handleCallback(this.broker.callbackFor(url));
  }

  close(): void {
    for (const t of this.tabs) t.close();
    this.channels.closeAll();
  }
}
