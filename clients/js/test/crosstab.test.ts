// Several tabs of one browser: one Web Locks manager, one localStorage, one
// cookie jar at the broker, one BroadcastChannel bus, a client per tab.
import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import type { BrokerClient, BrokerEvent } from "../src/client.js";
import { MapStorage, WebStorage } from "../src/storage.js";
import { FakeBroker, FakeBrowser } from "./fakes.js";

let browsers: FakeBrowser[] = [];
function browser(mode: "body" | "cookie" = "body", busDelay = 0): FakeBrowser {
  const broker = new FakeBroker();
  broker.mode = mode;
  const b = new FakeBrowser(broker, busDelay);
  browsers.push(b);
  return b;
}
afterEach(() => {
  for (const b of browsers) b.close();
  browsers = [];
});

function events(c: BrokerClient): BrokerEvent[] {
  const got: BrokerEvent[] = [];
  c.subscribe((e) => got.push(e));
  return got;
}

// Spent refresh tokens, from the broker's log: the fake refuses a second
// use, and the tests also check that none was ever presented twice.
function spent(b: FakeBrowser): string[] {
  return b.broker.refreshes.map((c) => (c.body ? (JSON.parse(c.body) as { refreshToken: string }).refreshToken : `cookie#${c.headers.get("X-Tenant-ID")}`));
}

describe("tabs share one session", () => {
  test("a new tab takes the session of an open one (memory storage)", async () => {
    const b = browser();
    const t1 = b.tab();
    await b.signIn(t1);
    const t2 = b.tab();
    assert.equal(await t2.getAccessToken(), await t1.getAccessToken());
    assert.equal(b.broker.refreshes.length, 0);
  });

  test("with no tab left, a new tab is signed out (memory storage, body mode)", async () => {
    const b = browser();
    const t1 = b.tab();
    await b.signIn(t1);
    t1.close();
    const t2 = b.tab();
    assert.equal(await t2.getAccessToken(), null);
  });

  for (const busDelay of [0, 40]) {
    test(`two tabs refreshing at the same moment spend the refresh token once (messages ${busDelay} ms late)`, async () => {
      const b = browser("body", busDelay);
      b.broker.refreshDelay = 5;
      const t1 = b.tab();
      await b.signIn(t1);
      const t2 = b.tab({ peerTimeoutMs: 500 });
      const stale = await t2.getAccessToken();
      assert.equal(stale, await t1.getAccessToken());

      b.clock.now += 3_600_000;
      b.broker.expireAccessTokens();
      const [a1, a2] = await Promise.all([t1.getAccessToken(), t2.getAccessToken()]);
      assert.ok(a1 && a2, "both tabs stay signed in");
      assert.equal(a1, a2, "the second tab took the first one's tokens");
      assert.equal(b.broker.verify(a1), "ok");
      assert.equal(b.broker.refreshes.length, 1, "one refresh for both tabs");

      // And the chain goes on from either tab.
      b.clock.now += 3_600_000;
      b.broker.expireAccessTokens();
      const [c1, c2] = await Promise.all([t2.getAccessToken(), t1.getAccessToken()]);
      assert.ok(c1 && c1 === c2 && b.broker.verify(c1) === "ok");
      const s = spent(b);
      assert.equal(new Set(s).size, s.length, "no refresh token presented twice");
    });
  }

  test("server-side expiry in both tabs at once: one refresh (refresh(stale))", async () => {
    const b = browser();
    const t1 = b.tab();
    await b.signIn(t1);
    const t2 = b.tab();
    const stale = (await t2.getAccessToken())!;
    b.broker.expireAccessTokens();
    const [a1, a2] = await Promise.all([t1.refresh(stale), t2.refresh(stale)]);
    assert.equal(a1, a2);
    assert.equal(b.broker.refreshes.length, 1);
  });

  test("shared localStorage: two tabs refresh once", async () => {
    const b = browser();
    const shared = new MapStorage();
    const opts = { storage: new WebStorage(shared, "tokens", true) };
    const t1 = b.tab(opts);
    await b.signIn(t1);
    const t2 = b.tab({ storage: new WebStorage(shared, "tokens", true) });
    const stale = (await t2.getAccessToken())!;
    b.broker.expireAccessTokens();
    const [a1, a2] = await Promise.all([t1.refresh(stale), t2.refresh(stale)]);
    assert.equal(a1, a2);
    assert.equal(b.broker.refreshes.length, 1);
  });

  test("cookie mode: two tabs refreshing at the same moment both stay signed in", async () => {
    const b = browser("cookie", 40);
    const t1 = b.tab();
    await b.signIn(t1);
    const t2 = b.tab({ peerTimeoutMs: 500 });
    assert.ok(await t2.getAccessToken());
    assert.equal(b.broker.refreshes.length, 0, "the new tab got the access token from the open one");
    b.clock.now += 3_600_000;
    b.broker.expireAccessTokens();
    const [a1, a2] = await Promise.all([t1.getAccessToken(), t2.getAccessToken()]);
    assert.ok(a1 && a2 && b.broker.verify(a1) === "ok" && b.broker.verify(a2) === "ok");
    assert.equal(b.broker.refreshes.length, 1);
  });
});

describe("logout in one tab", () => {
  test("signs out every tab, revoking once", async () => {
    const b = browser();
    const t1 = b.tab();
    await b.signIn(t1);
    const t2 = b.tab();
    const t3 = b.tab();
    assert.ok(await t2.getAccessToken());
    assert.ok(await t3.getAccessToken());
    const e2 = events(t2);
    const e3 = events(t3);
    await t1.logout();
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(e2, [{ type: "signedOut", reason: "other-tab" }]);
    assert.deepEqual(e3, [{ type: "signedOut", reason: "other-tab" }]);
    assert.equal(await t2.getAccessToken(), null);
    assert.equal(b.broker.logouts.length, 1);
  });

  test("a tab signed in on its own is signed out and revoked too", async () => {
    const b = browser();
    const t1 = b.tab();
    await b.signIn(t1);
    const t2 = b.tab({ channel: null }); // signs in without seeing t1
    await b.signIn(t2);
    // reconnect t2 to the bus: a tab that opened later
    const t3 = b.tab();
    await b.signIn(t3);
    const mine = (await t3.getAccessToken())!;
    await t1.logout();
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(await t3.getAccessToken(), null);
    assert.equal(b.broker.verify(mine), "invalid_token", "the other session is revoked as well");
  });

  test("a failed refresh in one tab signs out the others", async () => {
    const b = browser();
    const t1 = b.tab();
    await b.signIn(t1);
    const t2 = b.tab();
    assert.ok(await t2.getAccessToken());
    const e2 = events(t2);
    b.broker.refreshFailure = 401;
    await assert.rejects(t1.refresh());
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(e2, [{ type: "signedOut", reason: "other-tab" }]);
  });
});
