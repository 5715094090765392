// HTTP: every request the client sends, to the broker and (with the
// access token) to APIs, and how answers map to a BrokerError. No state
// beyond the issuer, the tenant and the fetch to use.
import { BrokerError } from "./errors.js";

/** A POST to the broker: a form or a JSON body, a bearer token, the cookie. */
export interface PostOptions {
  form?: Record<string, string>;
  json?: unknown;
  bearer?: string | undefined;
  /** Send and accept the broker's cookies (cookie mode, and /token in case the tenant is in it). */
  credentials?: boolean;
}

/** The broker's answer: the response and its JSON object body ({} when it has none). */
export interface BrokerReply {
  res: Response;
  body: Record<string, unknown>;
}

/** Where {@link BrokerHttp.authorized} gets access tokens. */
export interface TokenSource {
  /** A usable access token, or null when signed out. */
  getAccessToken(): Promise<string | null>;
  /** A new access token after `stale` was refused as expired. */
  refresh(stale: string): Promise<string>;
}

/** The client's HTTP layer: requests to the broker and bearer requests to APIs. */
export class BrokerHttp {
  constructor(
    readonly issuer: string,
    readonly clientId: string,
    private readonly fetchImpl: typeof fetch,
  ) {}

  /**
   * POSTs to one of the broker's endpoints. Every such request carries
   * X-Broker-CSRF and X-Tenant-ID, which cookie-mode tenants demand and
   * body-mode tenants ignore, so the client works in both modes unchanged.
   * An unreachable broker is a BrokerError "network_error".
   */
  async post(path: string, o: PostOptions): Promise<BrokerReply> {
    const headers: Record<string, string> = { "X-Broker-CSRF": "1", "X-Tenant-ID": this.clientId, Accept: "application/json" };
    let body: string | undefined;
    if (o.form) {
      headers["Content-Type"] = "application/x-www-form-urlencoded";
      body = new URLSearchParams(o.form).toString();
    } else if (o.json !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(o.json);
    }
    if (o.bearer) headers["Authorization"] = `Bearer ${o.bearer}`;
    let res: Response;
    try {
      res = await this.fetchImpl(this.issuer + path, {
        method: "POST",
        headers,
        body: body ?? null,
        credentials: o.credentials ? "include" : "same-origin",
        cache: "no-store",
      });
    } catch (e) {
      throw new BrokerError("network_error", "the broker could not be reached", { cause: e });
    }
    return { res, body: await jsonObject(res) };
  }

  /**
   * fetch() with the access token: adds `Authorization: Bearer` (and
   * X-Tenant-ID on the broker's own endpoints); on a 401 whose body says
   * `token_expired` refreshes once and retries once. The request body
   * must be re-sendable (a string, FormData, URLSearchParams, Blob).
   */
  async authorized(input: string | URL, init: RequestInit, tokens: TokenSource): Promise<Response> {
    const url = String(input);
    const send = (token: string) => {
      const headers = new Headers(init.headers);
      headers.set("Authorization", `Bearer ${token}`);
      if (url.startsWith(this.issuer + "/")) headers.set("X-Tenant-ID", this.clientId);
      return this.fetchImpl(url, { ...init, headers });
    };
    const token = await tokens.getAccessToken();
    if (!token) throw new BrokerError("login_required", "not signed in");
    const res = await send(token);
    if (res.status !== 401 || !(await isTokenExpired(res.clone()))) return res;
    return send(await tokens.refresh(token));
  }

  /** GETs one of the broker's app endpoints (/auth/me, ...) with the access token. */
  async getJSON<T>(path: string, tokens: TokenSource): Promise<T> {
    const res = await this.authorized(this.issuer + path, {}, tokens);
    const body = await jsonObject(res);
    if (!res.ok) throw errorFrom(res, body, `${path} failed`);
    return body as T;
  }
}

async function jsonObject(res: Response): Promise<Record<string, unknown>> {
  const v = (await res.json().catch(() => ({}))) as unknown;
  return v !== null && typeof v === "object" ? (v as Record<string, unknown>) : {};
}

/** A non-empty string field of a JSON body. */
export function str(o: Record<string, unknown>, k: string): string | undefined {
  const v = o[k];
  return typeof v === "string" && v !== "" ? v : undefined;
}

/** A finite number field of a JSON body. */
export function num(o: Record<string, unknown>, k: string): number | undefined {
  const v = o[k];
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

/**
 * The BrokerError for a refusal: the broker's OAuth error code (RFC 6749
 * §5.2) or "forbidden" for a 403, and its description or message.
 */
export function errorFrom(res: Response, body: Record<string, unknown>, fallback: string): BrokerError {
  const code = res.status === 403 ? "forbidden" : (str(body, "error") ?? "server_error");
  const message = str(body, "error_description") ?? str(body, "message") ?? `${fallback} (HTTP ${res.status})`;
  return new BrokerError(code, message, { status: res.status });
}

/**
 * Whether a 401 means "refresh and retry" rather than "sign in again":
 * the broker's app endpoints (and APIs relaying /auth/check) answer
 * `{"error":"token_expired"}`.
 */
export async function isTokenExpired(res: Response): Promise<boolean> {
  if (res.status !== 401) return false;
  const body = (await res.json().catch(() => null)) as unknown;
  return isExpiredBody(body);
}

/** The same test on an already-parsed body. */
export function isExpiredBody(body: unknown): boolean {
  if (body === null || typeof body !== "object") return false;
  const b = body as { error?: unknown; message?: unknown };
  return b.error === "token_expired" || b.message === "TokenExpiredError";
}
