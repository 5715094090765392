// Cross-tab coordination: what the app's tabs tell each other over
// BroadcastChannel (new tokens, "who holds a session?", sign-outs) and the
// non-secret hints they share in localStorage (the session's mode, the
// latest access token's jti). Tokens themselves are kept by the client.
import { browserChannel, isTabMessage, type ChannelLike, type TabMessage } from "./crosstab.js";
import { claim, decodeJwtPayload } from "./jwt.js";
import { randomString } from "./pkce.js";
import type { StorageLike, TokenSet } from "./storage.js";

export interface TabSyncOptions {
  clientId: string;
  /** Opens the channel tabs talk on; null (or crossTab false) works alone. */
  channel: ((name: string) => ChannelLike | undefined) | null | undefined;
  crossTab: boolean;
  /** Where the hints live (localStorage). */
  hints: StorageLike;
  /** How long a new tab waits for another tab to hand over its session (ms). */
  peerTimeoutMs: number;
}

/** What TabSync asks of, and tells, the tab it serves. */
export interface TabSyncHost {
  /** This tab's tokens, handed to a new tab that asks; null when signed out. */
  current(): TokenSet | null;
  /** Another tab refreshed this tab's session: newer tokens to take. */
  adopt(tokens: TokenSet): void;
  /** Another tab signed out of session `sid` (undefined when it did not say). */
  otherTabSignedOut(sid: string | undefined): void;
}

/**
 * The tabs of one app (one tenant) in one browser. Sends and receives
 * {@link TabMessage}s and keeps the hints; decides which tokens from other
 * tabs this tab should take.
 */
export class TabSync {
  readonly tabId = randomString(9);
  private readonly channel: ChannelLike | undefined;
  private readonly hints: StorageLike;
  private readonly prefix: string;
  // Waiters for tokens from other tabs; one that takes a message returns true.
  private readonly waiters = new Set<(t: TokenSet, to?: string) => boolean>();

  constructor(
    private readonly o: TabSyncOptions,
    private readonly host: TabSyncHost,
  ) {
    this.hints = o.hints;
    this.prefix = `broker:${o.clientId}`;
    if (o.crossTab && o.channel !== null) {
      this.channel = (o.channel ?? browserChannel)(`broker:${o.clientId}`);
      if (this.channel) this.channel.onmessage = (e) => this.receive(e.data);
    }
  }

  // ---- hints (localStorage; no secrets) ------------------------------------

  /** The mode of the session some tab of this app signed in to, if any is known. */
  modeHint(): "body" | "cookie" | null {
    const h = this.hints.getItem(`${this.prefix}:session`);
    return h === null ? null : h === "cookie" ? "cookie" : "body";
  }

  /** Records that this tab holds t: its mode, and its access token as its session's latest. */
  remember(t: TokenSet): void {
    try {
      this.hints.setItem(`${this.prefix}:session`, t.mode);
      const sid = claim(t.accessToken, "sid");
      const jti = claim(t.accessToken, "jti");
      if (sid && jti) this.hints.setItem(this.latestKey(sid), jti);
    } catch {
      // hints are an optimisation
    }
  }

  /** Forgets the hints of a session that ended. */
  forget(sid: string | undefined): void {
    try {
      this.hints.removeItem(`${this.prefix}:session`);
      if (sid) this.hints.removeItem(this.latestKey(sid));
    } catch {
      // hints are an optimisation
    }
  }

  private latestKey(sid: string): string {
    return `${this.prefix}:latest:${sid}`;
  }

  // ---- messages ------------------------------------------------------------

  /** Asks the other tabs for their session; null when none answers in time. */
  askPeers(): Promise<TokenSet | null> {
    if (!this.channel) return Promise.resolve(null);
    const p = this.waitFor((_, to) => to === this.tabId, this.o.peerTimeoutMs);
    this.send({ type: "hello", from: this.tabId });
    return p;
  }

  /**
   * The tokens another tab obtained for cur's session after cur, when the
   * hints say there are some: their message may arrive after the refresh
   * lock does. Null when cur is the latest or none arrives within a second.
   */
  async latest(cur: TokenSet | null): Promise<TokenSet | null> {
    const sid = claim(cur?.accessToken, "sid");
    const latest = sid ? this.hints.getItem(this.latestKey(sid)) : null;
    if (!this.channel || !latest || latest === claim(cur?.accessToken, "jti")) return null;
    return this.waitFor((t) => claim(t.accessToken, "jti") === latest, 1000);
  }

  /** Tells the other tabs this tab's new tokens (after a refresh). */
  publish(t: TokenSet): void {
    this.send({ type: "tokens", from: this.tabId, tokens: t });
  }

  /** Tells the other tabs to sign out (of session sid, when known). */
  signOut(sid: string | undefined): void {
    const m: TabMessage = { type: "logout", from: this.tabId };
    if (sid) m.sid = sid;
    this.send(m);
  }

  /** Stops listening. */
  close(): void {
    this.channel?.close();
    this.waiters.clear();
  }

  private waitFor(match: (t: TokenSet, to?: string) => boolean, ms: number): Promise<TokenSet | null> {
    return new Promise((resolve) => {
      const done = (t: TokenSet | null) => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
        resolve(t);
      };
      const waiter = (t: TokenSet, to?: string) => {
        if (!match(t, to)) return false;
        done(t);
        return true;
      };
      const timer = setTimeout(() => done(null), ms);
      this.waiters.add(waiter);
    });
  }

  private send(m: TabMessage): void {
    try {
      this.channel?.postMessage(m);
    } catch {
      // a closed channel: nothing to tell
    }
  }

  private receive(data: unknown): void {
    if (!isTabMessage(data) || data.from === this.tabId) return;
    switch (data.type) {
      case "hello": {
        const mine = this.host.current();
        if (mine) this.send({ type: "tokens", from: this.tabId, to: data.from, tokens: mine });
        return;
      }
      case "tokens": {
        if (data.to !== undefined && data.to !== this.tabId) return;
        let taken = false;
        for (const w of [...this.waiters]) taken = w(data.tokens, data.to) || taken;
        if (taken) return;
        // Unasked, take only a newer token of this tab's own session.
        const mine = this.host.current();
        const sid = claim(mine?.accessToken, "sid");
        if (data.to === undefined && mine && sid && sid === claim(data.tokens.accessToken, "sid")) {
          const iat = (t: TokenSet) => Number(decodeJwtPayload(t.accessToken)?.["iat"] ?? 0);
          if (data.tokens.accessToken !== mine.accessToken && iat(data.tokens) >= iat(mine)) this.host.adopt(data.tokens);
        }
        return;
      }
      case "logout":
        this.host.otherTabSignedOut(data.sid);
        return;
    }
  }
}
