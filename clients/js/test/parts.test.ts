// The parts BrokerClient is made of, each through its own small API:
// SignIn, Refresher, TabSync and BrokerHttp; and StorageLike with and
// without length/key.
import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import { localLocks } from "../src/crosstab.js";
import { BrokerError } from "../src/errors.js";
import { BrokerHttp } from "../src/http.js";
import { Refresher } from "../src/refresh.js";
import { SignIn } from "../src/signin.js";
import { MapStorage, type StorageLike, type TokenSet } from "../src/storage.js";
import { TabSync, type TabSyncHost } from "../src/tabsync.js";
import { bus, CLIENT, FakeBroker, FakeBrowser, ISSUER, REDIRECT } from "./fakes.js";

let browsers: FakeBrowser[] = [];
afterEach(() => {
  for (const b of browsers) b.close();
  browsers = [];
});

const pendingKeys = (s: MapStorage) =>
  Array.from({ length: s.length }, (_, i) => s.key(i)).filter((k) => k?.startsWith(`broker:${CLIENT}:login:`));

describe("SignIn", () => {
  function signIn(broker: FakeBroker, pending: StorageLike, clock = { now: 1_000_000 }) {
    return new SignIn({ http: new BrokerHttp(ISSUER, CLIENT, broker.fetch), redirectUri: REDIRECT, scope: "openid", pending, now: () => clock.now });
  }

  test("complete returns the tokens and keeps nothing itself", async () => {
    const broker = new FakeBroker();
    const s = signIn(broker, new MapStorage());
    const url = await s.authorizeUrl({ returnTo: "/x" });
    const got = await s.complete(broker.callbackFor(url));
    assert.equal(got.returnTo, "/x");
    assert.equal(got.tokens?.mode, "body");
    assert.equal(broker.verify(got.tokens?.accessToken ?? ""), "ok");
  });

  test("sign-ins abandoned for more than ten minutes are dropped when the next one starts (StorageLike with length and key)", async () => {
    const pending = new MapStorage();
    pending.setItem("unrelated", "kept");
    const clock = { now: 1_000_000 };
    const s = signIn(new FakeBroker(), pending, clock);
    await s.authorizeUrl();
    await s.authorizeUrl();
    assert.equal(pendingKeys(pending).length, 2);
    clock.now += 10 * 60 * 1000 + 1;
    await s.authorizeUrl();
    assert.equal(pendingKeys(pending).length, 1, "the two abandoned ones are gone");
    assert.equal(pending.getItem("unrelated"), "kept");
  });

  test("a StorageLike without length and key still carries sign-ins (nothing is swept)", async () => {
    const m = new Map<string, string>();
    const minimal: StorageLike = {
      getItem: (k) => m.get(k) ?? null,
      setItem: (k, v) => void m.set(k, v),
      removeItem: (k) => void m.delete(k),
    };
    const broker = new FakeBroker();
    const s = signIn(broker, minimal);
    const url = await s.authorizeUrl();
    const { tokens } = await s.complete(broker.callbackFor(url));
    assert.ok(tokens?.accessToken);
    assert.equal(m.size, 0, "the completed sign-in's secrets are gone");
  });
});

describe("Refresher", () => {
  test("once: one run for every caller at the same time, a new run after it settles", async () => {
    const broker = new FakeBroker();
    const r = new Refresher({ http: new BrokerHttp(ISSUER, CLIENT, broker.fetch), locks: localLocks(), now: () => 0 });
    let runs = 0;
    const t: TokenSet = { accessToken: "a", expiresAt: 1, mode: "body" };
    const run = async () => {
      runs++;
      await new Promise((res) => setTimeout(res, 5));
      return t;
    };
    const got = await Promise.all([r.once(run), r.once(run), r.once(run)]);
    assert.equal(runs, 1);
    assert.ok(got.every((x) => x === t));
    await r.once(run);
    assert.equal(runs, 2);
  });

  test("exchange: a refused refresh calls ended and throws invalid_grant; nothing to present is login_required", async () => {
    const broker = new FakeBroker();
    broker.refreshFailure = 401;
    const r = new Refresher({ http: new BrokerHttp(ISSUER, CLIENT, broker.fetch), locks: localLocks(), now: () => 0 });
    let ended = 0;
    const cur: TokenSet = { accessToken: "a", refreshToken: "r", expiresAt: 1, mode: "body" };
    await assert.rejects(r.exchange(cur, "body", () => ended++), (e: unknown) => e instanceof BrokerError && e.code === "invalid_grant" && e.sessionEnded);
    assert.equal(ended, 1);
    await assert.rejects(r.exchange(null, undefined, () => ended++), (e: unknown) => e instanceof BrokerError && e.code === "login_required");
    await assert.rejects(r.exchange({ ...cur, refreshToken: undefined } as TokenSet, "body", () => ended++), (e: unknown) => e instanceof BrokerError && e.code === "login_required");
    assert.equal(ended, 1);
    assert.equal(broker.refreshes.length, 1);
  });
});

describe("TabSync", () => {
  const jwt = (claims: Record<string, unknown>) => `h.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.s`;
  const tokens = (sid: string, iat: number): TokenSet => ({ accessToken: jwt({ sid, jti: `${sid}-${iat}`, iat }), expiresAt: 1, mode: "body" });

  function host(current: TokenSet | null) {
    const h = { current, adopted: [] as TokenSet[], signedOut: [] as (string | undefined)[] };
    const api: TabSyncHost = {
      current: () => h.current,
      adopt: (t) => void h.adopted.push(t),
      otherTabSignedOut: (sid) => void h.signedOut.push(sid),
    };
    return { h, api };
  }

  // peerTimeoutMs is generous: an answer ends the wait at once, and a
  // loaded machine (test files run in parallel) may take a while to deliver it.
  function pair(a: TokenSet | null, b: TokenSet | null, peerTimeoutMs = 2000) {
    const channels = bus();
    const hints = new MapStorage();
    const o = { clientId: CLIENT, channel: channels.open, crossTab: true, hints, peerTimeoutMs };
    const ha = host(a);
    const hb = host(b);
    const ta = new TabSync(o, ha.api);
    const tb = new TabSync(o, hb.api);
    return { ta, tb, ha: ha.h, hb: hb.h, hints, close: () => (ta.close(), tb.close()) };
  }

  test("askPeers: an open tab hands its session to a new one; none answers: null", async () => {
    const mine = tokens("s1", 1);
    const p = pair(mine, null);
    assert.deepEqual(await p.tb.askPeers(), mine);
    p.close();
    const q = pair(null, null, 50);
    assert.equal(await q.tb.askPeers(), null);
    q.close();
  });

  test("published tokens are adopted only when newer and of the same session", async () => {
    const p = pair(tokens("s1", 2), null);
    p.tb.publish(tokens("s2", 9)); // another session
    p.tb.publish(tokens("s1", 1)); // older
    p.tb.publish(tokens("s1", 3)); // newer: taken
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(p.ha.adopted, [tokens("s1", 3)]);
    p.close();
  });

  test("signOut reaches the other tab with the session id; hints are remembered and forgotten", async () => {
    const p = pair(tokens("s1", 1), null);
    p.ta.remember(tokens("s1", 1));
    assert.equal(p.tb.modeHint(), "body");
    p.tb.signOut("s1");
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(p.ha.signedOut, ["s1"]);
    p.ta.forget("s1");
    assert.equal(p.tb.modeHint(), null);
    assert.equal(p.hints.length, 0);
    p.close();
  });

  test("no channel (crossTab false): works alone", async () => {
    const t = new TabSync({ clientId: CLIENT, channel: undefined, crossTab: false, hints: new MapStorage(), peerTimeoutMs: 50 }, host(null).api);
    assert.equal(await t.askPeers(), null);
    assert.equal(await t.latest(tokens("s1", 1)), null);
    t.close();
  });
});

describe("BrokerHttp", () => {
  test("authorized: one refresh and one retry on token_expired, none on invalid_token", async () => {
    const b = new FakeBrowser();
    browsers.push(b);
    const tab = b.tab();
    await b.signIn(tab);
    const http = new BrokerHttp(ISSUER, CLIENT, b.broker.fetch);
    const source = { getAccessToken: () => tab.getAccessToken(), refresh: (stale: string) => tab.refresh(stale) };
    b.broker.expireAccessTokens();
    assert.equal((await http.authorized(`${ISSUER}/auth/me`, {}, source)).status, 200);
    assert.equal(b.broker.refreshes.length, 1);
    b.broker.revokeAll();
    assert.equal((await http.authorized(`${ISSUER}/auth/me`, {}, source)).status, 401);
    assert.equal(b.broker.refreshes.length, 1);
  });

  test("post: an unreachable broker is network_error; a 403 is forbidden", async () => {
    const down = new BrokerHttp(ISSUER, CLIENT, () => Promise.reject(new TypeError("offline")));
    await assert.rejects(down.post("/auth/refresh", {}), (e: unknown) => e instanceof BrokerError && e.code === "network_error");
    const { errorFrom } = await import("../src/http.js");
    const e = errorFrom(new Response("{}", { status: 403 }), { error: "invalid_request", message: "csrf" }, "x");
    assert.equal(e.code, "forbidden");
    assert.equal(e.message, "csrf");
  });
});
