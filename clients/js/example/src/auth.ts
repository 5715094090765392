import axios from "axios";
import { BrokerClient } from "@socialbroker/client";
import { createAuthProvider } from "@socialbroker/client/refine";
import { attachBroker } from "@socialbroker/client/axios";

/** Which broker and tenant this app uses (served as /config.json). */
export interface AppConfig {
  brokerUrl: string;
  clientId: string;
}

export async function loadConfig(): Promise<AppConfig> {
  const fallback: AppConfig = {
    brokerUrl: import.meta.env["VITE_BROKER_URL"] ?? "http://127.0.0.1:8080",
    clientId: import.meta.env["VITE_CLIENT_ID"] ?? "example",
  };
  try {
    const res = await fetch("/config.json", { cache: "no-store" });
    if (res.ok) return { ...fallback, ...((await res.json()) as Partial<AppConfig>) };
  } catch {
    // no config.json: the defaults
  }
  return fallback;
}

/** Everything the app needs to talk to the broker and its API. */
export function createAuth(config: AppConfig) {
  // The same code runs against a body-mode or a cookie-mode tenant: the
  // client notices from the token response.
  const client = new BrokerClient({
    issuer: config.brokerUrl,
    clientId: config.clientId,
    redirectUri: `${window.location.origin}/callback`,
  });
  const authProvider = createAuthProvider(client);
  const api = axios.create({ baseURL: "/api" });
  // SessionWatcher (App.tsx) handles every sign-out with the router, so the
  // interceptor's own redirect is not needed.
  attachBroker(api, client, { onSessionExpired: () => {} });
  return { config, client, authProvider, api };
}

export type Auth = ReturnType<typeof createAuth>;
