/** The tokens of one session, as the client keeps them. */
export interface TokenSet {
  accessToken: string;
  /** Absent in cookie mode: the broker keeps it in an HttpOnly cookie. */
  refreshToken?: string;
  idToken?: string;
  /** When to stop using the access token (ms since epoch, local clock, with a safety margin). */
  expiresAt: number;
  /** "cookie" when the broker delivers refresh tokens only as a cookie. */
  mode: "body" | "cookie";
  scope?: string;
}

/**
 * The subset of the Web Storage API the client uses. `Storage`
 * (sessionStorage, localStorage) is one. `length` and `key` are optional:
 * with them the client lists its keys to drop pending sign-ins older than
 * ten minutes (abandoned at the identity provider); without them those
 * stay until the store is cleared.
 */
export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
  readonly length?: number;
  key?(index: number): string | null;
}

/** Where tokens are kept. */
export interface TokenStorage {
  load(): TokenSet | null;
  save(tokens: TokenSet): void;
  clear(): void;
  /** True when every tab reads the same store (localStorage). */
  readonly shared: boolean;
}

/**
 * Keeps tokens in this tab's memory only (the default): nothing survives a
 * reload except what the broker's cookie (cookie mode) or another open tab
 * can give back, and nothing is left on disk for other scripts to find.
 */
export class MemoryStorage implements TokenStorage {
  readonly shared = false;
  private tokens: TokenSet | null = null;
  load(): TokenSet | null {
    return this.tokens;
  }
  save(tokens: TokenSet): void {
    this.tokens = tokens;
  }
  clear(): void {
    this.tokens = null;
  }
}

/**
 * Keeps tokens in sessionStorage (this tab, survives reloads) or
 * localStorage (every tab, survives restarts). Opt-in: any script running
 * on the page, an XSS included, can read them there.
 */
export class WebStorage implements TokenStorage {
  constructor(
    private readonly store: StorageLike,
    private readonly key: string,
    readonly shared: boolean,
  ) {}
  load(): TokenSet | null {
    try {
      const raw = this.store.getItem(this.key);
      const t = raw ? (JSON.parse(raw) as TokenSet) : null;
      return t && typeof t.accessToken === "string" && typeof t.expiresAt === "number" ? t : null;
    } catch {
      return null;
    }
  }
  save(tokens: TokenSet): void {
    this.store.setItem(this.key, JSON.stringify(tokens));
  }
  clear(): void {
    this.store.removeItem(this.key);
  }
}

/** A StorageLike in memory, for environments without Web Storage. */
export class MapStorage implements StorageLike {
  private readonly m = new Map<string, string>();
  getItem(key: string): string | null {
    return this.m.get(key) ?? null;
  }
  setItem(key: string, value: string): void {
    this.m.set(key, String(value));
  }
  removeItem(key: string): void {
    this.m.delete(key);
  }
  get length(): number {
    return this.m.size;
  }
  key(index: number): string | null {
    return [...this.m.keys()][index] ?? null;
  }
}

/** The page's sessionStorage or localStorage, if usable. */
export function webStorage(name: "sessionStorage" | "localStorage"): StorageLike | undefined {
  try {
    // Reading the property itself throws where storage is blocked.
    let s: Storage | undefined;
    if (name === "sessionStorage") s = globalThis.sessionStorage;
    else if (name === "localStorage") s = globalThis.localStorage;
    if (!s) return undefined;
    const probe = "__broker_probe__";
    s.setItem(probe, "1");
    s.removeItem(probe);
    return s;
  } catch {
    return undefined; // disabled storage (privacy modes, sandboxed frames)
  }
}
