// What a session is on this side: the tokens the broker answered with,
// when to stop using the access token, and what the app may see of it.
import { claim } from "./jwt.js";
import type { TokenSet } from "./storage.js";

/** What the app may know about the current session (no token values). */
export interface SessionInfo {
  mode: "body" | "cookie";
  /** When the access token will be refreshed (ms since epoch, local clock). */
  expiresAt: number;
  scope?: string;
  /** The broker's session id (the access token's sid claim). */
  sid?: string;
}

/** The fields of a token answer (/token or /auth/refresh), already read. */
export interface TokenAnswer {
  accessToken: string;
  refreshToken: string | undefined;
  idToken: string | undefined;
  /** Seconds (expires_in); 60 when the broker did not say. */
  expiresIn: number | undefined;
  scope: string | undefined;
}

/**
 * The TokenSet for an answer received at `now`. The mode follows from
 * the answer: a refresh token in the body is body mode; none means the
 * broker keeps it in an HttpOnly cookie.
 */
export function newTokenSet(now: number, r: TokenAnswer): TokenSet {
  // Refresh a little before the broker's expiry: a tenth of the
  // lifetime, at most 30 s, so a request is not sent with a token that
  // dies on the way. The broker's exp claim is not used: the two clocks
  // may disagree, expires_in does not depend on them.
  const life = (r.expiresIn ?? 60) * 1000;
  const t: TokenSet = {
    accessToken: r.accessToken,
    expiresAt: now + life - Math.min(30_000, life / 10),
    mode: r.refreshToken ? "body" : "cookie",
  };
  if (r.refreshToken) t.refreshToken = r.refreshToken;
  if (r.idToken) t.idToken = r.idToken;
  if (r.scope) t.scope = r.scope;
  return t;
}

/** Whether the access token is due for a refresh at `now`. */
export function isDue(t: TokenSet, now: number): boolean {
  return now >= t.expiresAt;
}

/** The app's view of a session. */
export function sessionInfo(t: TokenSet): SessionInfo {
  const s: SessionInfo = { mode: t.mode, expiresAt: t.expiresAt };
  if (t.scope) s.scope = t.scope;
  const sid = claim(t.accessToken, "sid");
  if (sid) s.sid = sid;
  return s;
}
