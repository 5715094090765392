import type { BrokerClient } from "./client.js";
import { BrokerError } from "./errors.js";

// Structural copies of @refinedev/core's auth types (v4 and v5), so this
// module needs no import from it; test/refine-types.test.ts checks that
// the provider is assignable to Refine's own AuthProvider.

/** Refine's AuthActionResponse. */
export interface AuthActionResponse {
  success: boolean;
  redirectTo?: string;
  error?: Error;
  [key: string]: unknown;
}

/** Refine's CheckResponse. */
export interface CheckResponse {
  authenticated: boolean;
  redirectTo?: string;
  logout?: boolean;
  error?: Error;
}

/** Refine's OnErrorResponse. */
export interface OnErrorResponse {
  redirectTo?: string;
  logout?: boolean;
  error?: Error;
}

/** What useLogin().mutate() passes to login. */
export interface BrokerLoginParams {
  /** "google", "github", ...: the provider button pressed; none shows the broker's chooser. */
  providerName?: string;
  /** Where to land after signing in (Refine's `to` query parameter). */
  redirectTo?: string;
  loginHint?: string;
}

/** What useLogout().mutate() passes to logout. */
export interface BrokerLogoutParams {
  /** Also end the broker's session and every app session started from it (single sign-out). */
  everywhere?: boolean;
  /** Where to go afterwards (Refine's redirectPath). */
  redirectPath?: string;
}

/** The auth provider {@link createAuthProvider} returns. */
export interface BrokerAuthProvider {
  login(params?: BrokerLoginParams): Promise<AuthActionResponse>;
  logout(params?: BrokerLogoutParams): Promise<AuthActionResponse>;
  check(params?: unknown): Promise<CheckResponse>;
  onError(error: unknown): Promise<OnErrorResponse>;
  getIdentity(params?: unknown): Promise<unknown>;
  getPermissions(params?: unknown): Promise<unknown>;
  register(params?: unknown): Promise<AuthActionResponse>;
  forgotPassword(params?: unknown): Promise<AuthActionResponse>;
  updatePassword(params?: unknown): Promise<AuthActionResponse>;
}

/** Options for {@link createAuthProvider}. */
export interface AuthProviderOptions {
  /** The app's login route ("/login"). */
  loginPath?: string;
  /** Where logout lands (the login route by default). */
  logoutRedirectTo?: string;
}

const notSupported = (name: string): Promise<AuthActionResponse> =>
  Promise.resolve({
    success: false,
    error: { name, message: "not supported: sign-in is delegated to the broker" },
  });

// leaving resolves once the browser has had time to leave for the broker.
// Answering login at once would let Refine navigate to its `to` path while
// the page unloads (a visible bounce through the app). If the page is still
// here after a while (the navigation was stopped), it resolves anyway.
// Outside a browser (tests, server rendering) it resolves at once.
function leaving(): Promise<void> {
  if (typeof document === "undefined" || typeof window === "undefined") return Promise.resolve();
  return new Promise((resolve) => setTimeout(resolve, 10_000));
}

function statusOf(error: unknown): number | undefined {
  if (error === null || typeof error !== "object") return undefined;
  const e = error as { response?: { status?: unknown }; statusCode?: unknown; status?: unknown };
  const s = e.response?.status ?? e.statusCode ?? e.status;
  return typeof s === "number" ? s : undefined;
}

function asError(e: unknown, name: string): Error {
  if (e instanceof Error) return e;
  return { name, message: String(e) };
}

/**
 * An auth provider for Refine (@refinedev/core) backed by the broker:
 *
 * - login({ providerName }) sends the browser to the broker ("Sign in with
 *   GitHub"); the app's callback route calls client.handleCallback().
 * - logout() ends this app's session; logout({ everywhere: true }) the
 *   broker's session and every app's session started from it.
 * - check() asks the broker (/auth/check, refreshing if needed): signed
 *   out or revoked gives { authenticated: false, logout: true, redirectTo }.
 * - onError: a 401 the client could not cure by refreshing logs out and
 *   goes to the login page; a 403 is "forbidden", not "signed out", and
 *   keeps the session; anything else is left to the app.
 * - getIdentity() is /auth/me, getPermissions() is /auth/permissions
 *   ({ roles, permissions }).
 * - register, forgotPassword, updatePassword: not supported, the
 *   identity providers own passwords.
 */
export function createAuthProvider(client: BrokerClient, options: AuthProviderOptions = {}): BrokerAuthProvider {
  const loginPath = options.loginPath ?? "/login";
  const signedOut = (error?: Error): CheckResponse => {
    const r: CheckResponse = { authenticated: false, logout: true, redirectTo: loginPath };
    r.error = error ?? { name: "Unauthenticated", message: "sign in to continue" };
    return r;
  };

  return {
    async login(params: BrokerLoginParams = {}) {
      try {
        const o: { provider?: string; returnTo?: string; loginHint?: string } = {};
        if (params.providerName) o.provider = params.providerName;
        if (params.redirectTo) o.returnTo = params.redirectTo;
        if (params.loginHint) o.loginHint = params.loginHint;
        await client.login(o);
        await leaving();
        return { success: true };
      } catch (e) {
        return { success: false, error: asError(e, "LoginError") };
      }
    },

    async logout(params: BrokerLogoutParams = {}) {
      await client.logout(params.everywhere ? { everywhere: true } : {});
      return { success: true, redirectTo: params.redirectPath ?? options.logoutRedirectTo ?? loginPath };
    },

    async check() {
      try {
        return (await client.check()) ? { authenticated: true } : signedOut();
      } catch (e) {
        return signedOut(asError(e, "CheckError"));
      }
    },

    async onError(error: unknown) {
      const status = statusOf(error);
      if (status === 401) {
        // The axios interceptor and client.fetch already refreshed and
        // retried once: a 401 that gets here means the session is over.
        // From other HTTP clients, give an expired token one refresh.
        const body = (error as { response?: { data?: unknown } })?.response?.data;
        const expired = (body as { error?: unknown } | undefined)?.error === "token_expired";
        if (expired && (error as { config?: { _brokerRetried?: boolean } }).config?._brokerRetried !== true) {
          try {
            await client.refresh();
            return {};
          } catch {
            // fall through: signed out
          }
        }
        return { logout: true, redirectTo: loginPath, error: asError(error, "Unauthorized") };
      }
      if (status === 403) {
        // Signed in, not allowed: say so, stay signed in.
        return { error: asError(error, "Forbidden") };
      }
      return {};
    },

    async getIdentity() {
      try {
        return await client.getUser();
      } catch (e) {
        if (e instanceof BrokerError) return null;
        throw e;
      }
    },

    async getPermissions() {
      try {
        return await client.getPermissions();
      } catch (e) {
        if (e instanceof BrokerError) return null;
        throw e;
      }
    },

    register: () => notSupported("RegisterNotSupported"),
    forgotPassword: () => notSupported("ForgotPasswordNotSupported"),
    updatePassword: () => notSupported("UpdatePasswordNotSupported"),
  };
}
