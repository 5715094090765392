import axios from "axios";
import { BrokerClient } from "@socialbroker/client";
import { createAuthProvider } from "@socialbroker/client/refine";
import { attachBroker } from "@socialbroker/client/axios";

/**
 * Where the client keeps tokens (README, "Where tokens are kept"):
 * "memory" keeps nothing readable: a reload gets the session from another
 * open tab, the refresh cookie (cookie mode) or the broker's own session
 * (a redirect with prompt=none); "sessionStorage" and "localStorage"
 * survive reloads but let any script on the page read the refresh token.
 */
export type StorageChoice = "memory" | "sessionStorage" | "localStorage";

/** Which broker and tenant this app uses, and where it keeps tokens (served as /config.json). */
export interface AppConfig {
  brokerUrl: string;
  clientId: string;
  storage: StorageChoice;
}

export async function loadConfig(): Promise<AppConfig> {
  const fallback: AppConfig = {
    brokerUrl: import.meta.env["VITE_BROKER_URL"] ?? "http://127.0.0.1:8080",
    clientId: import.meta.env["VITE_CLIENT_ID"] ?? "example",
    storage: "memory",
  };
  try {
    const res = await fetch("/config.json", { cache: "no-store" });
    if (res.ok) {
      const c = { ...fallback, ...((await res.json()) as Partial<AppConfig>) };
      if (!["memory", "sessionStorage", "localStorage"].includes(c.storage)) c.storage = "memory";
      return c;
    }
  } catch {
    // no config.json: the defaults
  }
  return fallback;
}

/** Everything the app needs to talk to the broker and its API. */
export function createAuth(config: AppConfig) {
  // The same code runs against a body-mode or a cookie-mode tenant: the
  // client notices from the token response. With "memory" (the default) a
  // reload gets the session back from another tab of the app, the refresh
  // cookie (cookie mode) or the broker's session; the login page says so.
  const client = new BrokerClient({
    issuer: config.brokerUrl,
    clientId: config.clientId,
    redirectUri: `${window.location.origin}/callback`,
    storage: config.storage,
  });
  const authProvider = createAuthProvider(client);
  const api = axios.create({ baseURL: "/api" });
  // SessionWatcher (App.tsx) handles every sign-out with the router, so the
  // interceptor's own redirect is not needed.
  attachBroker(api, client, { onSessionExpired: () => {} });
  return { config, client, authProvider, api };
}

export type Auth = ReturnType<typeof createAuth>;

/** What the login page says about staying signed in, before the tenant's mode is known. */
export function loginNote(storage: StorageChoice): string {
  return storage === "memory"
    ? "This app keeps tokens in this tab's memory: a reload asks the broker again, which signs you back in without a page while your session there lasts (until you sign out)."
    : storageMeaning(storage, false);
}

/** What a storage choice means for the user, in one sentence (cookie mode: the tenant's refresh tokens are HttpOnly cookies). */
export function storageMeaning(storage: StorageChoice, cookieMode: boolean): string {
  if (cookieMode) {
    return "The refresh token is an HttpOnly cookie no script can read: a reload signs you in again silently.";
  }
  switch (storage) {
    case "memory":
      return "Tokens are kept in this tab's memory only: a reload gets them again from another tab of this app or, through a redirect, from your session at the broker.";
    case "sessionStorage":
      return "Tokens are kept in this tab's sessionStorage: a reload keeps you signed in, and any script on this page can read them until the tab closes.";
    case "localStorage":
      return "Tokens are kept in localStorage: you stay signed in across reloads and restarts, and any script on this page can read them until you sign out.";
  }
}
