// BrokerClient: the public façade. It keeps the session (tokens, store,
// events) and puts the parts together: SignIn (signin.ts), Refresher
// (refresh.ts), TabSync (tabsync.ts) and BrokerHttp (http.ts).
import { BrokerError } from "./errors.js";
import { BrokerHttp, type TokenSource } from "./http.js";
import { claim } from "./jwt.js";
import { Refresher } from "./refresh.js";
import { SignIn, type LoginOptions } from "./signin.js";
import { SilentGuard } from "./silent.js";
import {
  MapStorage,
  MemoryStorage,
  WebStorage,
  webStorage,
  type StorageLike,
  type TokenSet,
  type TokenStorage,
} from "./storage.js";
import { browserLocks, localLocks, type ChannelLike, type LockManagerLike } from "./crosstab.js";
import { TabSync } from "./tabsync.js";
import { isDue, sessionInfo, type SessionInfo } from "./tokenset.js";

export { isTokenExpired, isExpiredBody } from "./http.js";
export type { LoginOptions } from "./signin.js";
export type { SessionInfo } from "./tokenset.js";

/** How a {@link BrokerClient} is set up. */
export interface BrokerClientOptions {
  /** The broker's issuer URL, e.g. "https://auth.example.com". */
  issuer: string;
  /** This app's tenant id at the broker (its OAuth client_id). */
  clientId: string;
  /** The redirect URI registered for the app, e.g. "https://admin.example.com/callback". */
  redirectUri: string;
  /** Scopes to ask for; "openid email profile" by default. */
  scope?: string;
  /**
   * Where tokens are kept (README, "Where tokens are kept"):
   *
   * - "memory" (default): this tab only, never on disk. A reload or a new
   *   tab gets the session from another open tab of the app, or (cookie
   *   mode) from the broker's HttpOnly cookie; otherwise it signs in again.
   * - "sessionStorage": this tab, survives reloads; readable by any script
   *   on the page (an XSS included) until the tab closes.
   * - "localStorage": every tab, survives restarts; readable by any script
   *   on the page for as long as the session lasts.
   * - your own {@link TokenStorage}.
   */
  storage?: "memory" | "sessionStorage" | "localStorage" | TokenStorage;
  /** Share tokens and sign-outs with the app's other tabs (default true). */
  crossTab?: boolean;
  /**
   * Restore a session from the broker's own session (single sign-on) when
   * nothing else can (default true): the first check in a tab with no
   * session redirects the page once to the broker with prompt=none, which
   * comes straight back to the callback with a code, or signed out
   * (login_required). Never after a logout in this app, never twice in a
   * tab that came back signed out. See README, "After a reload".
   */
  silentSignIn?: boolean;
  /**
   * Ask the broker whether the session still lives (GET /auth/check) when
   * a tab of the app is shown again, at most every 5 seconds (default
   * true): a session ended elsewhere (logout everywhere in another app,
   * an operator) then signs the tab out ("signedOut", reason "revoked")
   * when the user comes back to it, not at their next action.
   */
  checkWhenShown?: boolean;

  /** Replaces the global fetch (tests, instrumentation). */
  fetch?: typeof fetch;
  /** Replaces navigator.locks. */
  locks?: LockManagerLike;
  /** Opens the channel tabs talk on; `null` disables it. Defaults to BroadcastChannel. */
  channel?: ((name: string) => ChannelLike | undefined) | null;
  /** Where pending sign-ins are kept across the redirect; sessionStorage by default. */
  pendingStorage?: StorageLike;
  /** Where non-secret hints shared by tabs are kept; localStorage by default. */
  hintStorage?: StorageLike;
  /** Sends the browser to a URL; location.assign by default (location.replace for a silent sign-in). */
  navigate?: (url: string) => void;
  /** The page's current URL (location.href by default); without one there is no silent sign-in. */
  currentUrl?: () => string | undefined;
  /** The clock (ms since epoch). */
  now?: () => number;
  /** How long a new tab waits for another tab to hand over its session (ms, default 150). */
  peerTimeoutMs?: number;
}

/** What {@link BrokerClient.handleCallback} resolves to. */
export interface CallbackResult {
  /** The returnTo given to login (or, for a silent sign-in, the page that started it). */
  returnTo?: string;
  /**
   * Set when a silent sign-in (prompt=none) came back signed out:
   * "login_required" (the broker has no session for this browser) or
   * "interaction_required" (this app cannot use it without the user).
   */
  error?: string;
}

/** Options for {@link BrokerClient.logout}. */
export interface LogoutOptions {
  /**
   * Also end the broker's session and every other app's session started
   * from it (POST /auth/logout {"everywhere":true}). Those apps' backends
   * receive a back-channel logout, and their pages are signed out at their
   * next check or refresh.
   */
  everywhere?: boolean;
  /** Internal: another tab of this app signed out. */
  fromOtherTab?: boolean;
}

/** What the broker says about the signed-in user (GET /auth/me). */
export interface BrokerUser {
  id: string;
  tenant: string;
  name: string;
  email: string;
  emailVerified: boolean;
  avatar: string;
  roles: string[];
  identities: { provider: string; subject: string; username: string; email: string }[];
}

/** GET /auth/permissions. */
export interface BrokerPermissions {
  roles: string[];
  permissions: string[];
}

/** Why the client signed out. */
export type SignOutReason =
  /** logout() was called in this tab. */
  | "logout"
  /** Another tab of the app signed out. */
  | "other-tab"
  /** The broker refused to refresh: revoked, expired or reused. */
  | "expired"
  /** The broker said the access token is no longer valid (revoked elsewhere). */
  | "revoked";

/** What {@link BrokerClient.subscribe} listeners receive. */
export type BrokerEvent =
  | { type: "signedIn"; session: SessionInfo }
  | { type: "refreshed"; session: SessionInfo }
  | { type: "signedOut"; reason: SignOutReason };

/**
 * A browser client of the broker for single-page apps: signs in with the
 * authorization code flow, PKCE S256, state and nonce; checks the callback
 * (state, RFC 9207 iss); keeps, refreshes and shares tokens across tabs;
 * signs out locally and at the broker.
 *
 * Refresh tokens are delivered either in the token response ("body"
 * mode) or only as an HttpOnly cookie ("cookie" mode, chosen per tenant
 * in the broker's config). The client notices which from the token
 * response and needs no setting for it.
 */
export class BrokerClient {
  readonly issuer: string;
  readonly clientId: string;
  readonly redirectUri: string;
  readonly scope: string;

  private readonly http: BrokerHttp;
  private readonly signIn: SignIn;
  private readonly refresher: Refresher;
  private readonly tabs: TabSync;
  private readonly store: TokenStorage;
  private readonly navigate: (url: string) => void;
  private readonly navigateReplace: (url: string) => void;
  private readonly currentUrl: () => string | undefined;
  private readonly silent: SilentGuard;
  private readonly silentSignIn: boolean;
  private readonly now: () => number;
  private readonly listeners = new Set<(e: BrokerEvent) => void>();
  // What fetch, getUser and getPermissions get tokens from.
  private readonly tokenSource: TokenSource = {
    getAccessToken: () => this.getAccessToken(),
    refresh: (stale) => this.refresh(stale),
  };

  private tokens: TokenSet | null = null;
  private lastShownCheck = -Infinity;
  private readonly stopWatching: () => void;
  private restoring: Promise<void> | null = null;
  private loggingOut: Promise<void> | null = null;
  private readonly callbacks = new Map<string, Promise<CallbackResult>>();

  constructor(options: BrokerClientOptions) {
    if (!options.issuer || !options.clientId || !options.redirectUri) {
      throw new Error("@socialbroker/client: issuer, clientId and redirectUri are required");
    }
    this.issuer = options.issuer.replace(/\/+$/, "");
    this.clientId = options.clientId;
    this.redirectUri = options.redirectUri;
    this.scope = options.scope ?? "openid email profile";
    this.navigate = options.navigate ?? ((url) => globalThis.location.assign(url));
    // A silent sign-in replaces the page in the history: Back must not
    // land on the page that redirected (it would redirect again).
    this.navigateReplace = options.navigate ?? ((url) => globalThis.location.replace(url));
    this.currentUrl = options.currentUrl ?? (() => globalThis.location?.href);
    this.silentSignIn = options.silentSignIn !== false;
    this.now = options.now ?? Date.now;
    this.http = new BrokerHttp(this.issuer, this.clientId, options.fetch ?? ((input, init) => globalThis.fetch(input, init)));
    const pending = options.pendingStorage ?? webStorage("sessionStorage") ?? new MapStorage();
    const hints = options.hintStorage ?? webStorage("localStorage") ?? new MapStorage();
    this.signIn = new SignIn({ http: this.http, redirectUri: this.redirectUri, scope: this.scope, pending, now: this.now });
    this.silent = new SilentGuard({ clientId: this.clientId, tab: pending, app: hints });
    this.refresher = new Refresher({ http: this.http, locks: options.locks ?? browserLocks() ?? localLocks(), now: this.now });
    this.store = this.makeStore(options.storage ?? "memory");
    this.tabs = new TabSync(
      {
        clientId: this.clientId,
        channel: options.channel,
        crossTab: options.crossTab !== false,
        hints,
        peerTimeoutMs: options.peerTimeoutMs ?? 150,
      },
      {
        current: () => this.tokens,
        adopt: (t) => this.adopt(t),
        otherTabSignedOut: (sid) => this.otherTabSignedOut(sid),
      },
    );
    this.stopWatching = options.checkWhenShown === false ? () => {} : this.watchVisibility();
  }

  // watchVisibility checks the session when the page is shown again.
  private watchVisibility(): () => void {
    const doc = (globalThis as { document?: Document }).document;
    if (!doc?.addEventListener) return () => {};
    const onChange = () => {
      if (doc.visibilityState !== "visible" || !this.tokens) return;
      const now = this.now();
      if (now - this.lastShownCheck < 5000) return;
      this.lastShownCheck = now;
      this.check().catch(() => undefined);
    };
    doc.addEventListener("visibilitychange", onChange);
    return () => doc.removeEventListener("visibilitychange", onChange);
  }

  private makeStore(s: NonNullable<BrokerClientOptions["storage"]>): TokenStorage {
    if (typeof s === "object") return s;
    if (s === "memory") return new MemoryStorage();
    const ws = webStorage(s);
    if (!ws) return new MemoryStorage();
    return new WebStorage(ws, `broker:${this.clientId}:tokens`, s === "localStorage");
  }

  /** Listens to sign-ins, refreshes and sign-outs; returns the unsubscribe function. */
  subscribe(listener: (e: BrokerEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(e: BrokerEvent): void {
    for (const l of [...this.listeners]) {
      try {
        l(e);
      } catch {
        // A listener's fault is not the client's.
      }
    }
  }

  /** The current session, without token values; null when signed out. */
  async session(): Promise<SessionInfo | null> {
    await this.restore();
    return this.tokens ? sessionInfo(this.tokens) : null;
  }

  /** Whether this tab holds a session (no network unless restoring one). */
  async isAuthenticated(): Promise<boolean> {
    await this.restore();
    return this.tokens !== null;
  }

  // ---- sign-in (signin.ts) ---------------------------------------------------

  /**
   * Builds the broker's authorization URL and remembers this sign-in's
   * secrets (PKCE verifier, nonce) for the callback, keyed by its state.
   */
  authorizeUrl(options: LoginOptions = {}): Promise<string> {
    return this.signIn.authorizeUrl(options);
  }

  /** Sends the browser to the broker to sign in. */
  async login(options: LoginOptions = {}): Promise<void> {
    const url = await this.signIn.authorizeUrl(options);
    // The user asks to sign in: silent sign-in may be tried again later.
    if (options.prompt !== "none") this.silent.reset();
    this.navigate(url);
  }

  /** Whether url (the current location by default) is a callback to handle. */
  isCallback(url: string = globalThis.location.href): boolean {
    return this.signIn.isCallback(url);
  }

  /**
   * Completes a sign-in on the redirect URI: checks state (this tab
   * started it, once) and iss (RFC 9207: the answer comes from this
   * broker), redeems the code with the PKCE verifier, checks the ID
   * token's nonce. Resolves to the returnTo given to login. Calling it
   * twice with the same URL (React StrictMode) redeems once.
   *
   * A silent sign-in (prompt=none) that the broker answers with
   * login_required or interaction_required resolves too, signed out, with
   * that `error` and its returnTo: the app goes back where it was and its
   * usual guard sends the user to its login page (the client makes no
   * second attempt in this tab).
   */
  handleCallback(url: string = globalThis.location.href): Promise<CallbackResult> {
    const key = new URL(url).searchParams.get("state") ?? "";
    let p = this.callbacks.get(key);
    if (!p) {
      p = this.signIn.complete(url).then(
        ({ tokens, returnTo, error, silent }) => {
          this.restoring = Promise.resolve();
          const out: CallbackResult = returnTo === undefined ? {} : { returnTo };
          if (!tokens) {
            this.silent.failed();
            if (error !== undefined) out.error = error;
            return out;
          }
          if (silent) this.silent.succeeded();
          else this.silent.reset();
          this.setTokens(tokens);
          this.emit({ type: "signedIn", session: sessionInfo(tokens) });
          return out;
        },
        (e: unknown) => {
          // A silent sign-in that failed otherwise stays "pending": no
          // second attempt from this tab either.
          this.restoring = Promise.resolve();
          throw e;
        },
      );
      this.callbacks.set(key, p);
    }
    return p;
  }

  // ---- tokens and refresh (refresh.ts) --------------------------------------

  /**
   * A usable access token, refreshed first if it is about to expire; null
   * when signed out. Throws a BrokerError when the broker cannot be reached.
   */
  async getAccessToken(): Promise<string | null> {
    await this.restore();
    const t = this.tokens;
    if (!t) return null;
    this.silent.used();
    if (!isDue(t, this.now())) return t.accessToken;
    try {
      return (await this.refreshOnce(t.accessToken)).accessToken;
    } catch (e) {
      if (e instanceof BrokerError && e.sessionEnded) return null;
      throw e;
    }
  }

  /**
   * Refreshes the access token, once for every caller at the same time
   * and once across tabs. `stale` is the access token a request was
   * refused with: when the client already holds another one (a parallel
   * request, or another tab, refreshed meanwhile) that one is returned
   * without spending the refresh token again. A refresh the broker refuses
   * signs out (event "signedOut", reason "expired") and throws a
   * BrokerError whose sessionEnded is true.
   */
  async refresh(stale?: string): Promise<string> {
    await this.restore();
    return (await this.refreshOnce(stale)).accessToken;
  }

  private refreshOnce(stale?: string): Promise<TokenSet> {
    return this.refresher.once(() => this.refreshLocked(stale));
  }

  // Runs holding the app's refresh lock (Web Locks: across tabs). Another
  // tab may have rotated the session while this one waited; it then takes
  // that tab's tokens instead of presenting a refresh token already spent.
  private async refreshLocked(stale?: string): Promise<TokenSet> {
    await this.catchUp();
    const cur = this.tokens;
    if (cur && stale !== undefined && cur.accessToken !== stale && !isDue(cur, this.now())) return cur;
    const mode = cur?.mode ?? (this.tabs.modeHint() === "cookie" ? "cookie" : undefined);
    const next = await this.refresher.exchange(cur, mode, () => this.endLocally("expired", true));
    this.setTokens(next);
    this.tabs.publish(next);
    this.emit({ type: "refreshed", session: sessionInfo(next) });
    return next;
  }

  // catchUp adopts tokens another tab obtained for this session. With a
  // shared store the store is the truth; otherwise the tabs' hints and
  // messages are (TabSync.latest).
  private async catchUp(): Promise<void> {
    if (this.store.shared) {
      const t = this.store.load();
      if (t?.accessToken !== this.tokens?.accessToken) this.tokens = t;
      return;
    }
    const t = await this.tabs.latest(this.tokens);
    if (t) this.adopt(t);
  }

  private setTokens(t: TokenSet): void {
    this.tokens = t;
    this.store.save(t);
    this.tabs.remember(t);
  }

  private adopt(t: TokenSet): void {
    this.tokens = t;
    if (!this.store.shared) this.store.save(t);
    this.emit({ type: "refreshed", session: sessionInfo(t) });
  }

  // ---- restoring a session in a new tab or after a reload ------------------

  private restore(silent = true): Promise<void> {
    this.restoring ??= this.doRestore(silent);
    return this.restoring;
  }

  // Where a tab with no session in memory gets one, first that works:
  //  1. the token store (sessionStorage or localStorage, when chosen);
  //  2. another open tab of the app (BroadcastChannel);
  //  3. cookie mode: the HttpOnly refresh cookie (no navigation);
  //  4. the broker's session: a top-level redirect with prompt=none, once
  //     per tab, never after a logout in this app (silentRedirect);
  //  5. otherwise signed out.
  private async doRestore(silent: boolean): Promise<void> {
    const stored = this.store.load();
    if (stored) {
      this.tokens = stored;
      return;
    }
    const hint = this.tabs.modeHint();
    if (hint) {
      const peer = await this.tabs.askPeers();
      if (peer) {
        this.adopt(peer);
        return;
      }
      if (hint === "cookie") {
        // The refresh cookie outlives the page: a reload signs in silently.
        try {
          await this.refreshOnce();
        } catch (e) {
          if (!(e instanceof BrokerError && e.sessionEnded)) throw e;
        }
        if (this.tokens) return;
      } else {
        // Body mode in memory, and no tab holds the session any more.
        this.tabs.forget(undefined);
      }
    }
    if (silent) await this.silentRedirect();
  }

  // silentRedirect sends the page to the broker with prompt=none when the
  // guard allows it, and then waits for the page to go. It returns at once
  // (signed out) when no attempt is made.
  private async silentRedirect(): Promise<void> {
    if (!this.silentSignIn || !this.silent.allowed()) return;
    const here = this.currentUrl();
    if (!here || this.signIn.isCallback(here)) return; // no page to come back to, or the answer is being handled
    let returnTo: string;
    try {
      const u = new URL(here);
      returnTo = u.pathname + u.search + u.hash;
    } catch {
      return;
    }
    let url: string;
    try {
      url = await this.signIn.authorizeUrl({ prompt: "none", returnTo });
    } catch {
      return; // sessionStorage refused the sign-in's secrets: no sign-in to complete
    }
    if (!this.silent.started()) return;
    this.navigateReplace(url);
    await leaving();
  }

  // ---- sign-out ------------------------------------------------------------

  /**
   * Signs out: forgets the tokens in this tab and every other tab of the
   * app, and revokes the session at the broker (POST /auth/logout; in
   * cookie mode this also clears the refresh cookie). Resolves even if the
   * broker cannot be reached: the browser is signed out either way.
   */
  logout(options: LogoutOptions = {}): Promise<void> {
    this.loggingOut ??= this.doLogout(options.fromOtherTab ?? false, options.everywhere ?? false).finally(() => {
      this.loggingOut = null;
    });
    return this.loggingOut;
  }

  private async doLogout(fromOtherTab: boolean, everywhere: boolean): Promise<void> {
    try {
      // Not through the broker's session: no sign-in only to sign out.
      await this.restore(false);
    } catch {
      // restoring failed (network): sign out what there is
    }
    const t = this.tokens;
    const cookie = t?.mode === "cookie" || (!t && this.tabs.modeHint() === "cookie");
    // No tab of this app signs in silently until the user signs in again.
    if (!fromOtherTab) this.silent.loggedOutNow();
    this.endLocally(fromOtherTab ? "other-tab" : "logout", !fromOtherTab);
    // {"everywhere":true}: the broker's session and all its app sessions too.
    const scope = everywhere ? { everywhere: true } : undefined;
    try {
      if (t?.mode === "body" && t.refreshToken) {
        await this.http.post("/auth/logout", { json: { refreshToken: t.refreshToken, ...scope } });
      } else if (cookie) {
        await this.http.post("/auth/logout", { bearer: t?.accessToken, credentials: true, json: scope });
      } else if (t) {
        await this.http.post("/auth/logout", { bearer: t.accessToken, json: scope });
      }
    } catch {
      // Unreachable broker: the tokens are gone from the browser; the
      // access token dies at its expiry.
    }
  }

  private otherTabSignedOut(sid: string | undefined): void {
    if (!this.tokens) return;
    const mine = claim(this.tokens.accessToken, "sid");
    if (sid && mine && sid !== mine) {
      // This tab signed in on its own: end that session at the broker too.
      void this.logout({ fromOtherTab: true }).catch(() => undefined);
      return;
    }
    this.endLocally("other-tab", false);
  }

  // endLocally forgets the session here, tells the other tabs (broadcast)
  // and emits one "signedOut", only if there was something to forget.
  private endLocally(reason: SignOutReason, broadcast: boolean): void {
    const t = this.tokens;
    const had = t !== null || this.tabs.modeHint() !== null;
    const sid = claim(t?.accessToken, "sid");
    this.tokens = null;
    this.store.clear();
    this.tabs.forget(sid);
    if (broadcast) this.tabs.signOut(sid);
    if (had) this.emit({ type: "signedOut", reason });
  }

  // ---- calling the broker and APIs (http.ts) --------------------------------

  /**
   * fetch() with the access token: adds `Authorization: Bearer` (and
   * X-Tenant-ID on the broker's own endpoints); on a 401 whose body says
   * `token_expired` refreshes once and retries once. The request body
   * must be re-sendable (a string, FormData, URLSearchParams, Blob).
   */
  fetch(input: string | URL, init: RequestInit = {}): Promise<Response> {
    return this.http.authorized(input, init, this.tokenSource);
  }

  /**
   * Asks the broker whether the session is alive (GET /auth/check). A
   * revoked session signs out. When the broker cannot be reached, an
   * unexpired local token counts as alive.
   */
  async check(): Promise<boolean> {
    const alive = () => this.tokens !== null && !isDue(this.tokens, this.now());
    let res: Response;
    try {
      res = await this.fetch(`${this.issuer}/auth/check`);
    } catch (e) {
      if (e instanceof BrokerError && e.sessionEnded) return false;
      return alive();
    }
    if (res.ok) {
      this.silent.used();
      return true;
    }
    if (res.status === 401) {
      this.endLocally("revoked", true);
      return false;
    }
    return alive();
  }

  /** The signed-in user (GET /auth/me). */
  getUser(): Promise<BrokerUser> {
    return this.http.getJSON<BrokerUser>("/auth/me", this.tokenSource);
  }

  /** The user's roles and permissions in this app (GET /auth/permissions). */
  getPermissions(): Promise<BrokerPermissions> {
    return this.http.getJSON<BrokerPermissions>("/auth/permissions", this.tokenSource);
  }

  /** Stops listening to other tabs and to the page's visibility. */
  close(): void {
    this.tabs.close();
    this.stopWatching();
  }
}

// leaving resolves once the browser has had time to leave for the broker,
// so that the caller (a route guard) does not show the app signed out in
// the meantime. If the page is still here after a while (the navigation
// was stopped), it resolves anyway, signed out. Outside a browser it
// resolves at once.
function leaving(): Promise<void> {
  if (typeof document === "undefined" || typeof window === "undefined") return Promise.resolve();
  return new Promise((resolve) => setTimeout(resolve, 10_000));
}
