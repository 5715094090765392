import { BrokerError } from "./errors.js";
import { claim, decodeJwtPayload } from "./jwt.js";
import { randomString, s256 } from "./pkce.js";
import {
  MapStorage,
  MemoryStorage,
  WebStorage,
  webStorage,
  type StorageLike,
  type TokenSet,
  type TokenStorage,
} from "./storage.js";
import {
  browserChannel,
  browserLocks,
  isTabMessage,
  localLocks,
  type ChannelLike,
  type LockManagerLike,
  type TabMessage,
} from "./crosstab.js";

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
   * Where tokens are kept: "memory" (default: this tab, never on disk),
   * "sessionStorage" or "localStorage" (opt-in: readable by any script on
   * the page), or your own {@link TokenStorage}.
   */
  storage?: "memory" | "sessionStorage" | "localStorage" | TokenStorage;
  /** Share tokens and sign-outs with the app's other tabs (default true). */
  crossTab?: boolean;

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
  /** Sends the browser to a URL; location.assign by default. */
  navigate?: (url: string) => void;
  /** The clock (ms since epoch). */
  now?: () => number;
  /** How long a new tab waits for another tab to hand over its session (ms, default 150). */
  peerTimeoutMs?: number;
}

/** Options for {@link BrokerClient.login}. */
export interface LoginOptions {
  /** A provider name ("google", "github", ...): skips the broker's chooser page. */
  provider?: string;
  /** Where the app should go after the callback; handed back by handleCallback. */
  returnTo?: string;
  /** Passed to the upstream as login_hint. */
  loginHint?: string;
  /** OpenID Connect prompt ("login", "consent", "select_account"). */
  prompt?: string;
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

/** What the app may know about the current session (no token values). */
export interface SessionInfo {
  mode: "body" | "cookie";
  /** When the access token will be refreshed (ms since epoch, local clock). */
  expiresAt: number;
  scope?: string;
  /** The broker's session id (the access token's sid claim). */
  sid?: string;
}

interface PendingLogin {
  verifier: string;
  nonce: string;
  returnTo?: string;
  createdAt: number;
}

const PENDING_TTL = 10 * 60 * 1000;

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

  private readonly store: TokenStorage;
  private readonly fetchImpl: typeof fetch;
  private readonly locks: LockManagerLike;
  private readonly channel: ChannelLike | undefined;
  private readonly pending: StorageLike;
  private readonly hints: StorageLike;
  private readonly navigate: (url: string) => void;
  private readonly now: () => number;
  private readonly peerTimeoutMs: number;
  private readonly tabId = randomString(9);
  private readonly listeners = new Set<(e: BrokerEvent) => void>();

  private tokens: TokenSet | null = null;
  private restoring: Promise<void> | null = null;
  private refreshing: Promise<TokenSet> | null = null;
  private loggingOut: Promise<void> | null = null;
  private readonly callbacks = new Map<string, Promise<{ returnTo?: string }>>();
  // Waiters for tokens from other tabs; one that takes a message returns true.
  private readonly peerWaiters = new Set<(t: TokenSet, to?: string) => boolean>();

  constructor(options: BrokerClientOptions) {
    if (!options.issuer || !options.clientId || !options.redirectUri) {
      throw new Error("@socialbroker/client: issuer, clientId and redirectUri are required");
    }
    this.issuer = options.issuer.replace(/\/+$/, "");
    this.clientId = options.clientId;
    this.redirectUri = options.redirectUri;
    this.scope = options.scope ?? "openid email profile";
    this.fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.locks = options.locks ?? browserLocks() ?? localLocks();
    this.pending = options.pendingStorage ?? webStorage("sessionStorage") ?? new MapStorage();
    this.hints = options.hintStorage ?? webStorage("localStorage") ?? new MapStorage();
    this.navigate = options.navigate ?? ((url) => globalThis.location.assign(url));
    this.now = options.now ?? Date.now;
    this.peerTimeoutMs = options.peerTimeoutMs ?? 150;
    this.store = this.makeStore(options.storage ?? "memory");
    if (options.crossTab !== false && options.channel !== null) {
      this.channel = (options.channel ?? browserChannel)(`broker:${this.clientId}`);
      if (this.channel) this.channel.onmessage = (e) => this.onTabMessage(e.data);
    }
  }

  private makeStore(s: NonNullable<BrokerClientOptions["storage"]>): TokenStorage {
    if (typeof s === "object") return s;
    if (s === "memory") return new MemoryStorage();
    const ws = webStorage(s);
    if (!ws) return new MemoryStorage();
    return new WebStorage(ws, `broker:${this.clientId}:tokens`, s === "localStorage");
  }

  // Keys of non-secret hints shared by tabs (localStorage).
  private get hintKey(): string {
    return `broker:${this.clientId}:session`;
  }
  private latestKey(sid: string): string {
    return `broker:${this.clientId}:latest:${sid}`;
  }
  private get lockName(): string {
    return `broker:${this.clientId}:refresh`;
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
    return this.tokens ? info(this.tokens) : null;
  }

  /** Whether this tab holds a session (no network unless restoring one). */
  async isAuthenticated(): Promise<boolean> {
    await this.restore();
    return this.tokens !== null;
  }

  // ---- sign-in -----------------------------------------------------------

  /**
   * Builds the broker's authorization URL and remembers this sign-in's
   * secrets (PKCE verifier, nonce) for the callback, keyed by its state.
   */
  async authorizeUrl(options: LoginOptions = {}): Promise<string> {
    const state = randomString();
    const verifier = randomString(32);
    const nonce = randomString();
    const challenge = await s256(verifier);
    this.dropStalePending();
    const p: PendingLogin = { verifier, nonce, createdAt: this.now() };
    if (options.returnTo !== undefined) p.returnTo = options.returnTo;
    this.pending.setItem(this.pendingKey(state), JSON.stringify(p));
    const q = new URLSearchParams({
      response_type: "code",
      client_id: this.clientId,
      redirect_uri: this.redirectUri,
      scope: this.scope,
      state,
      nonce,
      code_challenge: challenge,
      code_challenge_method: "S256",
    });
    if (options.provider) q.set("provider", options.provider);
    if (options.loginHint) q.set("login_hint", options.loginHint);
    if (options.prompt) q.set("prompt", options.prompt);
    return `${this.issuer}/authorize?${q.toString()}`;
  }

  /** Sends the browser to the broker to sign in. */
  async login(options: LoginOptions = {}): Promise<void> {
    this.navigate(await this.authorizeUrl(options));
  }

  private pendingKey(state: string): string {
    return `broker:${this.clientId}:login:${state}`;
  }

  private dropStalePending(): void {
    const s = this.pending as Partial<Storage>;
    if (typeof s.length !== "number" || typeof s.key !== "function") return;
    const prefix = `broker:${this.clientId}:login:`;
    for (let i = s.length - 1; i >= 0; i--) {
      const k = s.key(i);
      if (!k?.startsWith(prefix)) continue;
      try {
        const p = JSON.parse(this.pending.getItem(k) ?? "") as PendingLogin;
        if (this.now() - p.createdAt < PENDING_TTL) continue;
      } catch {
        // unreadable: drop it
      }
      this.pending.removeItem(k);
    }
  }

  /** Whether url (the current location by default) is a callback to handle. */
  isCallback(url: string = globalThis.location.href): boolean {
    const u = new URL(url);
    return u.searchParams.has("state") && (u.searchParams.has("code") || u.searchParams.has("error"));
  }

  /**
   * Completes a sign-in on the redirect URI: checks state (this tab
   * started it, once) and iss (RFC 9207: the answer comes from this
   * broker), redeems the code with the PKCE verifier, checks the ID
   * token's nonce. Resolves to the returnTo given to login. Calling it
   * twice with the same URL (React StrictMode) redeems once.
   */
  handleCallback(url: string = globalThis.location.href): Promise<{ returnTo?: string }> {
    const key = new URL(url).searchParams.get("state") ?? "";
    let p = this.callbacks.get(key);
    if (!p) {
      p = this.redeem(url);
      this.callbacks.set(key, p);
    }
    return p;
  }

  private async redeem(url: string): Promise<{ returnTo?: string }> {
    const q = new URL(url).searchParams;
    const state = q.get("state");
    const raw = state ? this.pending.getItem(this.pendingKey(state)) : null;
    if (!state || !raw) {
      throw new BrokerError("invalid_state", "this sign-in was not started in this tab, or was already completed");
    }
    this.pending.removeItem(this.pendingKey(state));
    const p = JSON.parse(raw) as PendingLogin;
    // RFC 9207 §2.4: compare iss before using anything else in the response.
    if (q.get("iss") !== this.issuer) {
      throw new BrokerError("invalid_issuer", `the sign-in answer does not come from ${this.issuer}`);
    }
    const error = q.get("error");
    if (error) throw new BrokerError(error, q.get("error_description") ?? error);
    const code = q.get("code");
    if (!code) throw new BrokerError("invalid_request", "the callback has no code");

    const { res, body } = await this.call("/token", {
      form: {
        grant_type: "authorization_code",
        code,
        redirect_uri: this.redirectUri,
        client_id: this.clientId,
        code_verifier: p.verifier,
      },
      credentials: true,
    });
    if (!res.ok) throw errorFrom(res, body, "the broker refused the sign-in");
    const accessToken = str(body, "access_token");
    if (!accessToken) throw new BrokerError("server_error", "the token response has no access_token");
    const idToken = str(body, "id_token");
    if (idToken) this.checkIDToken(idToken, p.nonce);
    const refreshToken = str(body, "refresh_token");
    const tokens = this.tokenSet({
      accessToken,
      refreshToken,
      idToken,
      expiresIn: num(body, "expires_in"),
      scope: str(body, "scope"),
      mode: refreshToken ? "body" : "cookie",
    });
    this.restoring = Promise.resolve();
    this.setTokens(tokens);
    this.emit({ type: "signedIn", session: info(tokens) });
    return p.returnTo === undefined ? {} : { returnTo: p.returnTo };
  }

  private checkIDToken(idToken: string, nonce: string): void {
    const c = decodeJwtPayload(idToken);
    const aud = c?.["aud"];
    const auds = Array.isArray(aud) ? aud : [aud];
    if (!c || c["iss"] !== this.issuer || !auds.includes(this.clientId) || c["nonce"] !== nonce) {
      throw new BrokerError("invalid_id_token", "the ID token was not issued for this sign-in");
    }
  }

  // ---- tokens --------------------------------------------------------------

  /**
   * A usable access token, refreshed first if it is about to expire; null
   * when signed out. Throws a BrokerError when the broker cannot be reached.
   */
  async getAccessToken(): Promise<string | null> {
    await this.restore();
    const t = this.tokens;
    if (!t) return null;
    if (!this.expired(t)) return t.accessToken;
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
    if (!this.refreshing) {
      this.refreshing = this.locks
        .request(this.lockName, () => this.refreshLocked(stale))
        .finally(() => {
          this.refreshing = null;
        });
    }
    return this.refreshing;
  }

  // Runs holding the app's refresh lock (Web Locks: across tabs). Another
  // tab may have rotated the session while this one waited; it then takes
  // that tab's tokens instead of presenting a refresh token already spent.
  private async refreshLocked(stale?: string): Promise<TokenSet> {
    await this.catchUp();
    const cur = this.tokens;
    if (cur && stale !== undefined && cur.accessToken !== stale && !this.expired(cur)) return cur;
    const mode = cur?.mode ?? (this.hints.getItem(this.hintKey) === "cookie" ? "cookie" : undefined);
    if (!mode || (mode === "body" && !cur?.refreshToken)) {
      throw new BrokerError("login_required", "not signed in");
    }
    let res: Response;
    let body: Record<string, unknown>;
    try {
      ({ res, body } = await this.call("/auth/refresh", {
        json: mode === "body" ? { refreshToken: cur?.refreshToken } : undefined,
        credentials: mode === "cookie",
      }));
    } catch (e) {
      throw e instanceof BrokerError ? e : new BrokerError("network_error", "the broker could not be reached", { cause: e });
    }
    if (res.status === 401 || res.status === 400) {
      // The session is over (revoked, expired, refresh token reused) or
      // there is none (cookie mode without a cookie).
      const err = errorFrom(res, body, "the session ended");
      const ended = new BrokerError("invalid_grant", err.message, { status: res.status });
      this.endLocally("expired", true);
      throw ended;
    }
    if (!res.ok) throw errorFrom(res, body, "the broker could not refresh the session");
    const accessToken = str(body, "accessToken");
    if (!accessToken) throw new BrokerError("server_error", "the refresh response has no accessToken");
    const refreshToken = str(body, "refreshToken");
    const next = this.tokenSet({
      accessToken,
      refreshToken,
      idToken: cur?.idToken,
      expiresIn: num(body, "expiresIn"),
      scope: cur?.scope,
      mode: refreshToken ? "body" : "cookie",
    });
    this.setTokens(next);
    this.broadcast({ type: "tokens", from: this.tabId, tokens: next });
    this.emit({ type: "refreshed", session: info(next) });
    return next;
  }

  // catchUp adopts tokens another tab obtained for this session. With a
  // shared store the store is the truth; otherwise tabs publish the jti of
  // the latest access token of each session (not a secret) and send the
  // tokens over BroadcastChannel, which may arrive after the lock does.
  private async catchUp(): Promise<void> {
    if (this.store.shared) {
      const t = this.store.load();
      if (t?.accessToken !== this.tokens?.accessToken) this.tokens = t;
      return;
    }
    const sid = claim(this.tokens?.accessToken, "sid");
    const latest = sid ? this.hints.getItem(this.latestKey(sid)) : null;
    if (!this.channel || !latest || latest === claim(this.tokens?.accessToken, "jti")) return;
    const t = await this.waitForPeer((t) => claim(t.accessToken, "jti") === latest, 1000);
    if (t) this.adopt(t);
  }

  private expired(t: TokenSet): boolean {
    return this.now() >= t.expiresAt;
  }

  private tokenSet(r: {
    accessToken: string;
    refreshToken: string | undefined;
    idToken: string | undefined;
    expiresIn: number | undefined;
    scope: string | undefined;
    mode: "body" | "cookie";
  }): TokenSet {
    // Refresh a little before the broker's expiry: a tenth of the
    // lifetime, at most 30 s, so a request is not sent with a token that
    // dies on the way. The broker's exp claim is not used: the two clocks
    // may disagree, expires_in does not depend on them.
    const life = (r.expiresIn ?? 60) * 1000;
    const t: TokenSet = { accessToken: r.accessToken, expiresAt: this.now() + life - Math.min(30_000, life / 10), mode: r.mode };
    if (r.refreshToken) t.refreshToken = r.refreshToken;
    if (r.idToken) t.idToken = r.idToken;
    if (r.scope) t.scope = r.scope;
    return t;
  }

  private setTokens(t: TokenSet): void {
    this.tokens = t;
    this.store.save(t);
    try {
      this.hints.setItem(this.hintKey, t.mode);
      const sid = claim(t.accessToken, "sid");
      const jti = claim(t.accessToken, "jti");
      if (sid && jti) this.hints.setItem(this.latestKey(sid), jti);
    } catch {
      // hints are an optimisation
    }
  }

  private adopt(t: TokenSet): void {
    this.tokens = t;
    if (!this.store.shared) this.store.save(t);
    this.emit({ type: "refreshed", session: info(t) });
  }

  // ---- restoring a session in a new tab or after a reload ------------------

  private restore(): Promise<void> {
    this.restoring ??= this.doRestore();
    return this.restoring;
  }

  private async doRestore(): Promise<void> {
    const stored = this.store.load();
    if (stored) {
      this.tokens = stored;
      return;
    }
    const hint = this.hints.getItem(this.hintKey);
    if (!hint) return; // no tab of this app has signed in
    const peer = await this.askPeers();
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
      return;
    }
    // Body mode in memory, and no tab holds the session any more.
    this.hints.removeItem(this.hintKey);
  }

  private askPeers(): Promise<TokenSet | null> {
    if (!this.channel) return Promise.resolve(null);
    const p = this.waitForPeer((_, to) => to === this.tabId, this.peerTimeoutMs);
    this.broadcast({ type: "hello", from: this.tabId });
    return p;
  }

  private waitForPeer(match: (t: TokenSet, to?: string) => boolean, ms: number): Promise<TokenSet | null> {
    return new Promise((resolve) => {
      const done = (t: TokenSet | null) => {
        clearTimeout(timer);
        this.peerWaiters.delete(waiter);
        resolve(t);
      };
      const waiter = (t: TokenSet, to?: string) => {
        if (!match(t, to)) return false;
        done(t);
        return true;
      };
      const timer = setTimeout(() => done(null), ms);
      this.peerWaiters.add(waiter);
    });
  }

  private broadcast(m: TabMessage): void {
    try {
      this.channel?.postMessage(m);
    } catch {
      // a closed channel: nothing to tell
    }
  }

  private onTabMessage(data: unknown): void {
    if (!isTabMessage(data) || data.from === this.tabId) return;
    switch (data.type) {
      case "hello":
        if (this.tokens) this.broadcast({ type: "tokens", from: this.tabId, to: data.from, tokens: this.tokens });
        return;
      case "tokens": {
        if (data.to !== undefined && data.to !== this.tabId) return;
        let taken = false;
        for (const w of [...this.peerWaiters]) taken = w(data.tokens, data.to) || taken;
        if (taken) return;
        // Unasked, take only a newer token of this tab's own session.
        const mine = this.tokens;
        const sid = claim(mine?.accessToken, "sid");
        if (data.to === undefined && mine && sid && sid === claim(data.tokens.accessToken, "sid")) {
          const iat = (t: TokenSet) => Number(decodeJwtPayload(t.accessToken)?.["iat"] ?? 0);
          if (data.tokens.accessToken !== mine.accessToken && iat(data.tokens) >= iat(mine)) this.adopt(data.tokens);
        }
        return;
      }
      case "logout": {
        const mine = claim(this.tokens?.accessToken, "sid");
        if (!this.tokens) return;
        if (data.sid && mine && data.sid !== mine) {
          // This tab signed in on its own: end that session at the broker too.
          void this.logout({ fromOtherTab: true }).catch(() => undefined);
          return;
        }
        this.endLocally("other-tab", false);
        return;
      }
    }
  }

  // ---- sign-out ------------------------------------------------------------

  /**
   * Signs out: forgets the tokens in this tab and every other tab of the
   * app, and revokes the session at the broker (POST /auth/logout; in
   * cookie mode this also clears the refresh cookie). Resolves even if the
   * broker cannot be reached: the browser is signed out either way.
   */
  logout(options: { fromOtherTab?: boolean } = {}): Promise<void> {
    this.loggingOut ??= this.doLogout(options.fromOtherTab ?? false).finally(() => {
      this.loggingOut = null;
    });
    return this.loggingOut;
  }

  private async doLogout(fromOtherTab: boolean): Promise<void> {
    try {
      await this.restore();
    } catch {
      // restoring failed (network): sign out what there is
    }
    const t = this.tokens;
    const cookie = t?.mode === "cookie" || (!t && this.hints.getItem(this.hintKey) === "cookie");
    this.endLocally(fromOtherTab ? "other-tab" : "logout", !fromOtherTab);
    try {
      if (t?.mode === "body" && t.refreshToken) {
        await this.call("/auth/logout", { json: { refreshToken: t.refreshToken } });
      } else if (cookie) {
        await this.call("/auth/logout", { bearer: t?.accessToken, credentials: true });
      } else if (t) {
        await this.call("/auth/logout", { bearer: t.accessToken });
      }
    } catch {
      // Unreachable broker: the tokens are gone from the browser; the
      // access token dies at its expiry.
    }
  }

  // endLocally forgets the session here, tells the other tabs (broadcast)
  // and emits one "signedOut", only if there was something to forget.
  private endLocally(reason: SignOutReason, broadcast: boolean): void {
    const t = this.tokens;
    const had = t !== null || this.hints.getItem(this.hintKey) !== null;
    const sid = claim(t?.accessToken, "sid");
    this.tokens = null;
    this.store.clear();
    try {
      this.hints.removeItem(this.hintKey);
      if (sid) this.hints.removeItem(this.latestKey(sid));
    } catch {
      // hints are an optimisation
    }
    if (broadcast) {
      const m: TabMessage = { type: "logout", from: this.tabId };
      if (sid) m.sid = sid;
      this.broadcast(m);
    }
    if (had) this.emit({ type: "signedOut", reason });
  }

  // ---- calling the broker and APIs ----------------------------------------

  /**
   * fetch() with the access token: adds `Authorization: Bearer` (and
   * X-Tenant-ID on the broker's own endpoints); on a 401 whose body says
   * `token_expired` refreshes once and retries once. The request body
   * must be re-sendable (a string, FormData, URLSearchParams, Blob).
   */
  async fetch(input: string | URL, init: RequestInit = {}): Promise<Response> {
    const url = String(input);
    const send = (token: string) => {
      const headers = new Headers(init.headers);
      headers.set("Authorization", `Bearer ${token}`);
      if (url.startsWith(this.issuer + "/")) headers.set("X-Tenant-ID", this.clientId);
      return this.fetchImpl(url, { ...init, headers });
    };
    const token = await this.getAccessToken();
    if (!token) throw new BrokerError("login_required", "not signed in");
    const res = await send(token);
    if (res.status !== 401 || !(await isTokenExpired(res.clone()))) return res;
    return send(await this.refresh(token));
  }

  /**
   * Asks the broker whether the session is alive (GET /auth/check). A
   * revoked session signs out. When the broker cannot be reached, an
   * unexpired local token counts as alive.
   */
  async check(): Promise<boolean> {
    let res: Response;
    try {
      res = await this.fetch(`${this.issuer}/auth/check`);
    } catch (e) {
      if (e instanceof BrokerError && e.sessionEnded) return false;
      return this.tokens !== null && !this.expired(this.tokens);
    }
    if (res.ok) return true;
    if (res.status === 401) {
      this.endLocally("revoked", true);
      return false;
    }
    return this.tokens !== null && !this.expired(this.tokens);
  }

  /** The signed-in user (GET /auth/me). */
  async getUser(): Promise<BrokerUser> {
    return this.getJSON<BrokerUser>("/auth/me");
  }

  /** The user's roles and permissions in this app (GET /auth/permissions). */
  async getPermissions(): Promise<BrokerPermissions> {
    return this.getJSON<BrokerPermissions>("/auth/permissions");
  }

  private async getJSON<T>(path: string): Promise<T> {
    const res = await this.fetch(this.issuer + path);
    const body = await res.json().catch(() => ({}));
    if (!res.ok) throw errorFrom(res, body as Record<string, unknown>, `${path} failed`);
    return body as T;
  }

  // call sends a POST to the broker. Every such request carries
  // X-Broker-CSRF and X-Tenant-ID, which cookie-mode tenants demand and
  // body-mode tenants ignore, so the client works in both modes unchanged.
  private async call(
    path: string,
    o: { form?: Record<string, string>; json?: unknown; bearer?: string | undefined; credentials?: boolean },
  ): Promise<{ res: Response; body: Record<string, unknown> }> {
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
    const parsed = (await res.json().catch(() => ({}))) as unknown;
    return { res, body: parsed !== null && typeof parsed === "object" ? (parsed as Record<string, unknown>) : {} };
  }

  /** Stops listening to other tabs. */
  close(): void {
    this.channel?.close();
    for (const w of [...this.peerWaiters]) this.peerWaiters.delete(w);
  }
}

function info(t: TokenSet): SessionInfo {
  const s: SessionInfo = { mode: t.mode, expiresAt: t.expiresAt };
  if (t.scope) s.scope = t.scope;
  const sid = claim(t.accessToken, "sid");
  if (sid) s.sid = sid;
  return s;
}

function str(o: Record<string, unknown>, k: string): string | undefined {
  const v = o[k];
  return typeof v === "string" && v !== "" ? v : undefined;
}

function num(o: Record<string, unknown>, k: string): number | undefined {
  const v = o[k];
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

function errorFrom(res: Response, body: Record<string, unknown>, fallback: string): BrokerError {
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
  const body = (await res.json().catch(() => null)) as { error?: unknown; message?: unknown } | null;
  return isExpiredBody(body);
}

/** The same test on an already-parsed body. */
export function isExpiredBody(body: unknown): boolean {
  if (body === null || typeof body !== "object") return false;
  const b = body as { error?: unknown; message?: unknown };
  return b.error === "token_expired" || b.message === "TokenExpiredError";
}
