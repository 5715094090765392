// Refresh: one refresh at a time for every caller in this tab and, under
// a Web Lock, across tabs; and the exchange itself (POST /auth/refresh,
// refresh token rotation in body mode, the HttpOnly cookie in cookie mode).
import type { LockManagerLike } from "./crosstab.js";
import { BrokerError } from "./errors.js";
import { errorFrom, num, str, type BrokerHttp } from "./http.js";
import type { TokenSet } from "./storage.js";
import { newTokenSet } from "./tokenset.js";

export interface RefresherOptions {
  http: BrokerHttp;
  locks: LockManagerLike;
  now: () => number;
}

/**
 * Refreshes a session (the part oidc-client-ts calls TokenClient, plus
 * single flight). It keeps no tokens: the caller passes the current ones
 * in and keeps what comes out.
 */
export class Refresher {
  private inFlight: Promise<TokenSet> | null = null;
  private readonly lockName: string;

  constructor(private readonly o: RefresherOptions) {
    this.lockName = `broker:${o.http.clientId}:refresh`;
  }

  /**
   * Runs `locked` holding the app's refresh lock (across tabs with Web
   * Locks), once for every caller in this tab at the same time: a caller
   * arriving while a refresh is under way gets that refresh's result.
   */
  once(locked: () => Promise<TokenSet>): Promise<TokenSet> {
    this.inFlight ??= this.o.locks.request(this.lockName, locked).finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  /**
   * Presents the refresh token (body mode) or the cookie (cookie mode)
   * and returns the rotated tokens; the ID token and scope carry over.
   * When the broker says the session is over (400/401: revoked, expired,
   * refresh token reused, or no cookie) it calls `ended` and throws a
   * BrokerError "invalid_grant"; with nothing to present it throws
   * "login_required"; an unreachable broker is "network_error".
   */
  async exchange(cur: TokenSet | null, mode: "body" | "cookie" | undefined, ended: () => void): Promise<TokenSet> {
    if (!mode || (mode === "body" && !cur?.refreshToken)) {
      throw new BrokerError("login_required", "not signed in");
    }
    const { res, body } = await this.o.http.post("/auth/refresh", {
      json: mode === "body" ? { refreshToken: cur?.refreshToken } : undefined,
      credentials: mode === "cookie",
    });
    if (res.status === 401 || res.status === 400) {
      const err = errorFrom(res, body, "the session ended");
      ended();
      throw new BrokerError("invalid_grant", err.message, { status: res.status });
    }
    if (!res.ok) throw errorFrom(res, body, "the broker could not refresh the session");
    const accessToken = str(body, "accessToken");
    if (!accessToken) throw new BrokerError("server_error", "the refresh response has no accessToken");
    return newTokenSet(this.o.now(), {
      accessToken,
      refreshToken: str(body, "refreshToken"),
      idToken: cur?.idToken,
      expiresIn: num(body, "expiresIn"),
      scope: cur?.scope,
    });
  }
}
