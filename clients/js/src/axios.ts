import type { AxiosError, AxiosInstance, AxiosResponse, InternalAxiosRequestConfig } from "axios";
import { isExpiredBody, type BrokerClient } from "./client.js";

/** Options for {@link attachBroker}. */
export interface AxiosBrokerOptions {
  /**
   * Called once when the session ends because the broker refused a
   * refresh (revoked, expired, reused). By default the browser goes to
   * `loginPath`.
   */
  onSessionExpired?: () => void;
  /** Where the default onSessionExpired sends the browser ("/login"). */
  loginPath?: string;
  /**
   * Send `X-Tenant-ID: <clientId>` on every request (default true), so an
   * API can forward it to the broker's /auth/check. A cross-origin API
   * must then allow the header in its CORS preflight.
   */
  tenantHeader?: boolean;
}

// Marks on a request's config. Strings, not symbols: axios copies a
// config's own string keys when a request is retried.
interface Marked extends InternalAxiosRequestConfig {
  _brokerToken?: string;
  _brokerRetried?: boolean;
}

/**
 * Makes an axios instance call APIs with the broker's access token:
 * each request gets `Authorization: Bearer <token>` (refreshed first if it
 * is about to expire); a 401 whose body says `token_expired` refreshes once
 * (one refresh for every request failing together, and across tabs) and
 * retries that request once with the new token. When the broker refuses
 * the refresh the client signs out once, `onSessionExpired` runs once, and
 * the requests fail with their 401.
 *
 * Returns a function that removes the interceptors.
 */
export function attachBroker(instance: AxiosInstance, client: BrokerClient, options: AxiosBrokerOptions = {}): () => void {
  const loginPath = options.loginPath ?? "/login";
  const onSessionExpired =
    options.onSessionExpired ??
    (() => {
      if (typeof window !== "undefined") window.location.assign(loginPath);
    });

  const request = instance.interceptors.request.use(async (config: Marked) => {
    const token = await client.getAccessToken();
    if (token) {
      config.headers.set("Authorization", `Bearer ${token}`);
      config._brokerToken = token;
    }
    if (options.tenantHeader !== false) config.headers.set("X-Tenant-ID", client.clientId);
    return config;
  });

  const response = instance.interceptors.response.use(undefined, async (error: AxiosError) => {
    const config = error.config as Marked | undefined;
    if (!config || config._brokerRetried || !isExpired(error.response)) throw error;
    config._brokerRetried = true;
    try {
      // Single flight: if a parallel request already refreshed, this
      // returns its token without spending the refresh token again.
      await client.refresh(config._brokerToken);
    } catch {
      throw error; // session over (the client signed out) or broker unreachable
    }
    return instance.request(config);
  });

  // The client emits one "signedOut" per ended session, however many
  // requests saw it end.
  const unsubscribe = client.subscribe((e) => {
    if (e.type === "signedOut" && e.reason === "expired") onSessionExpired();
  });

  return () => {
    instance.interceptors.request.eject(request);
    instance.interceptors.response.eject(response);
    unsubscribe();
  };
}

function isExpired(res: AxiosResponse | undefined): boolean {
  return res?.status === 401 && isExpiredBody(res.data);
}
