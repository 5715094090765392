// Silent sign-in through the broker's own session: a top-level redirect to
// /authorize with prompt=none, which the broker answers at once with a code
// (it knows the browser) or with error=login_required. An iframe would
// avoid leaving the page, but the broker's cookie in an iframe of another
// site is a third-party cookie, which browsers now block; a top-level
// navigation carries the broker's SameSite=Lax cookie.
//
// A redirect that comes back signed out must not be made again and again:
// each tab keeps the state of its last attempt in sessionStorage (the
// "guard"), and a logout in the app keeps every tab of it from signing in
// silently again until the user signs in on purpose (a hint in
// localStorage).
import type { StorageLike } from "./storage.js";

/**
 * Where a tab's silent sign-in stands (sessionStorage):
 *
 * - none (no entry): an attempt is allowed.
 * - "pending": a redirect left and has not come back. Another attempt is
 *   refused: the answer never reached handleCallback (the user went back,
 *   or the app's callback route does not complete it), and trying again
 *   from the next page load could go round forever.
 * - "failed": the broker answered login_required (or another error): the
 *   user is signed out in this tab until they sign in on purpose.
 * - "unused": the attempt brought tokens, which the app has not used yet.
 *   A page load that finds this lost them before using them (a full
 *   reload straight after the callback, with tokens kept in memory): a
 *   new attempt would lose them again, so none is made.
 *
 * The first use of the tokens (a check that passes, an access token handed
 * to the app) clears the entry, and so does an explicit login.
 */
export type SilentState = "pending" | "failed" | "unused";

export interface SilentGuardOptions {
  clientId: string;
  /** This tab's sessionStorage. */
  tab: StorageLike;
  /** The app's localStorage (shared by its tabs). */
  app: StorageLike;
}

/** The bookkeeping that keeps silent sign-in from looping. */
export class SilentGuard {
  private readonly stateKey: string;
  private readonly loggedOutKey: string;

  constructor(private readonly o: SilentGuardOptions) {
    this.stateKey = `broker:${o.clientId}:silent`;
    this.loggedOutKey = `broker:${o.clientId}:loggedOut`;
  }

  /** This tab's state, or null when an attempt is allowed as far as the tab goes. */
  state(): SilentState | null {
    const v = get(this.o.tab, this.stateKey);
    return v === "pending" || v === "failed" || v === "unused" ? v : v === null ? null : "failed";
  }

  /** Whether the user logged out of this app in this browser (any tab) since they last signed in. */
  loggedOut(): boolean {
    return get(this.o.app, this.loggedOutKey) !== null;
  }

  /** Whether a silent sign-in may start now. */
  allowed(): boolean {
    return this.state() === null && !this.loggedOut();
  }

  /**
   * Records that a silent sign-in leaves now; false when the record could
   * not be kept (storage refused it), and the redirect must not be made.
   */
  started(): boolean {
    set(this.o.tab, this.stateKey, "pending");
    return this.state() === "pending";
  }

  /** The broker answered a silent sign-in with an error: signed out in this tab. */
  failed(): void {
    set(this.o.tab, this.stateKey, "failed");
  }

  /** A silent sign-in brought tokens the app has yet to use. */
  succeeded(): void {
    set(this.o.tab, this.stateKey, "unused");
  }

  /** The app used its tokens (or the user signed in on purpose): a later page load may try again. */
  used(): void {
    if (this.state() !== null) remove(this.o.tab, this.stateKey);
  }

  /** The user signs in on purpose: silent sign-in may be tried again, in every tab. */
  reset(): void {
    remove(this.o.tab, this.stateKey);
    remove(this.o.app, this.loggedOutKey);
  }

  /** The user logged out of this app: no tab of it signs in silently until they sign in again. */
  loggedOutNow(): void {
    set(this.o.app, this.loggedOutKey, "1");
  }
}

// Storage can throw (quota, a browser's privacy mode); the guard then
// errs on the side of no attempt only where it can read.
function get(s: StorageLike, k: string): string | null {
  try {
    return s.getItem(k);
  } catch {
    return "failed";
  }
}

function set(s: StorageLike, k: string, v: string): void {
  try {
    s.setItem(k, v);
  } catch {
    // unwritable storage: state() then reads what it can
  }
}

function remove(s: StorageLike, k: string): void {
  try {
    s.removeItem(k);
  } catch {
    // as above
  }
}

/** The errors a prompt=none sign-in answers when it needs the user (OpenID Connect Core §3.1.2.6). */
export function isInteractionError(error: string): boolean {
  return ["login_required", "interaction_required", "consent_required", "account_selection_required"].includes(error);
}
