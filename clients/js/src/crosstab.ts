import type { TokenSet } from "./storage.js";

/** The part of the Web Locks API (navigator.locks) the client uses. */
export interface LockManagerLike {
  request<T>(name: string, callback: () => Promise<T>): Promise<T>;
}

/** The part of BroadcastChannel the client uses. */
export interface ChannelLike {
  postMessage(message: unknown): void;
  onmessage: ((event: { data: unknown }) => void) | null;
  close(): void;
}

/** What tabs of one app tell each other. */
export type TabMessage =
  /** New tokens: after a refresh, or in answer to "hello" (then `to` is the asker). */
  | { type: "tokens"; from: string; to?: string; tokens: TokenSet }
  /** A tab without tokens asks whether another one holds a session. */
  | { type: "hello"; from: string }
  /** A tab signed out; every other tab of the app signs out too. */
  | { type: "logout"; from: string; sid?: string };

export function isTabMessage(v: unknown): v is TabMessage {
  if (v === null || typeof v !== "object") return false;
  const m = v as { type?: unknown; from?: unknown };
  return typeof m.from === "string" && (m.type === "tokens" || m.type === "hello" || m.type === "logout");
}

/** navigator.locks when the browser has it (secure contexts). */
export function browserLocks(): LockManagerLike | undefined {
  const locks = (globalThis as { navigator?: { locks?: { request: (n: string, cb: () => Promise<unknown>) => Promise<unknown> } } })
    .navigator?.locks;
  if (!locks || typeof locks.request !== "function") return undefined;
  return { request: <T>(name: string, cb: () => Promise<T>) => locks.request(name, cb) as Promise<T> };
}

/**
 * A lock that serialises callers within this tab only: the fallback when
 * Web Locks are unavailable (cross-tab refreshes are then coordinated by
 * BroadcastChannel alone, and the broker's reuse grace absorbs a race).
 */
export function localLocks(): LockManagerLike {
  const tails = new Map<string, Promise<unknown>>();
  return {
    request<T>(name: string, cb: () => Promise<T>): Promise<T> {
      const prev = tails.get(name) ?? Promise.resolve();
      const run = prev.then(cb, cb);
      const tail = run.catch(() => undefined);
      tails.set(name, tail);
      void tail.then(() => {
        if (tails.get(name) === tail) tails.delete(name);
      });
      return run;
    },
  };
}

/** A BroadcastChannel when the environment has one. */
export function browserChannel(name: string): ChannelLike | undefined {
  const BC = (globalThis as { BroadcastChannel?: new (name: string) => ChannelLike }).BroadcastChannel;
  return BC ? new BC(name) : undefined;
}
