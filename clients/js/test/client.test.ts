import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { afterEach, describe, test } from "node:test";
import { BrokerClient, type BrokerEvent } from "../src/client.js";
import { BrokerError } from "../src/errors.js";
import { MapStorage, WebStorage } from "../src/storage.js";
import { CLIENT, FakeBroker, FakeBrowser, ISSUER, REDIRECT } from "./fakes.js";

let browsers: FakeBrowser[] = [];
function browser(broker?: FakeBroker): FakeBrowser {
  const b = new FakeBrowser(broker);
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

describe("login", () => {
  test("authorizeUrl: code flow with PKCE S256, state, nonce and provider", async () => {
    const b = browser();
    const tab = b.tab();
    const u = new URL(await tab.authorizeUrl({ provider: "github", loginHint: "alice" }));
    assert.equal(u.origin + u.pathname, ISSUER + "/authorize");
    const q = u.searchParams;
    assert.equal(q.get("response_type"), "code");
    assert.equal(q.get("client_id"), CLIENT);
    assert.equal(q.get("redirect_uri"), REDIRECT);
    assert.equal(q.get("code_challenge_method"), "S256");
    assert.match(q.get("code_challenge") ?? "", /^[A-Za-z0-9_-]{43}$/);
    assert.ok((q.get("state") ?? "").length >= 43, "state carries 256 bits");
    assert.ok((q.get("nonce") ?? "").length >= 43);
    assert.equal(q.get("provider"), "github");
    assert.equal(q.get("login_hint"), "alice");
    assert.equal(q.get("scope"), "openid email profile");
    assert.equal(q.get("code_verifier"), null, "the verifier never leaves the tab");

    const again = new URL(await tab.authorizeUrl()).searchParams;
    assert.notEqual(again.get("state"), q.get("state"));
    assert.equal(again.get("provider"), null, "no provider: the broker's chooser page");
  });

  test("login navigates to the broker", async () => {
    const b = browser();
    await b.tab().login({ provider: "google" });
    assert.equal(b.navigations.length, 1);
    assert.equal(new URL(b.navigations[0]!).searchParams.get("provider"), "google");
  });

  test("handleCallback redeems the code with the verifier and keeps the tokens", async () => {
    const b = browser();
    const tab = b.tab();
    const seen = events(tab);
    await tab.login({ provider: "github", returnTo: "/reports?page=2" });
    const authorize = new URL(b.navigations[0]!);
    const result = await tab.handleCallback(b.broker.callbackFor(authorize.toString()));
    assert.deepEqual(result, { returnTo: "/reports?page=2" });

    const tokenCall = b.broker.calls.find((c) => c.path === "/token")!;
    const form = new URLSearchParams(tokenCall.body);
    assert.equal(form.get("grant_type"), "authorization_code");
    assert.equal(form.get("client_id"), CLIENT);
    assert.equal(form.get("redirect_uri"), REDIRECT);
    const verifier = form.get("code_verifier") ?? "";
    assert.equal(createHash("sha256").update(verifier).digest("base64url"), authorize.searchParams.get("code_challenge"));
    assert.equal(tokenCall.headers.get("X-Broker-CSRF"), "1");
    assert.equal(tokenCall.credentials, "include", "cookie mode needs the Set-Cookie stored");

    assert.ok(await tab.getAccessToken());
    assert.equal((await tab.session())?.mode, "body");
    assert.deepEqual(
      seen.map((e) => e.type),
      ["signedIn"],
    );
  });

  test("handleCallback twice with one URL redeems once (React StrictMode)", async () => {
    const b = browser();
    const tab = b.tab();
    await tab.login();
    const cb = b.broker.callbackFor(b.navigations[0]!);
    const [r1, r2] = await Promise.all([tab.handleCallback(cb), tab.handleCallback(cb)]);
    assert.deepEqual(r1, r2);
    assert.equal(b.broker.calls.filter((c) => c.path === "/token").length, 1);
  });

  const refusals: [string, (cb: URL) => void, string][] = [
    ["unknown state", (cb) => cb.searchParams.set("state", "forged"), "invalid_state"],
    ["no state", (cb) => cb.searchParams.delete("state"), "invalid_state"],
    ["another issuer (mix-up, RFC 9207)", (cb) => cb.searchParams.set("iss", "https://evil.test"), "invalid_issuer"],
    ["no iss", (cb) => cb.searchParams.delete("iss"), "invalid_issuer"],
    [
      "an error answer",
      (cb) => {
        cb.searchParams.delete("code");
        cb.searchParams.set("error", "access_denied");
      },
      "access_denied",
    ],
  ];
  for (const [name, tamper, code] of refusals) {
    test(`handleCallback refuses ${name} without redeeming`, async () => {
      const b = browser();
      const tab = b.tab();
      await tab.login();
      const cb = new URL(b.broker.callbackFor(b.navigations[0]!));
      tamper(cb);
      await assert.rejects(tab.handleCallback(cb.toString()), (e: unknown) => e instanceof BrokerError && e.code === code);
      assert.equal(b.broker.calls.filter((c) => c.path === "/token").length, 0);
      assert.equal(await tab.getAccessToken(), null);
    });
  }

  test("a state is single use: a replayed callback is refused", async () => {
    const b = browser();
    const tab = b.tab();
    await tab.login();
    const cb = b.broker.callbackFor(b.navigations[0]!);
    await tab.handleCallback(cb);
    const fresh = b.tab({ pendingStorage: new MapStorage() });
    await assert.rejects(fresh.handleCallback(cb), (e: unknown) => e instanceof BrokerError && e.code === "invalid_state");
  });

  test("an ID token minted for another sign-in (nonce) is refused", async () => {
    const b = browser();
    const tab = b.tab();
    await tab.login();
    // Another login's callback delivered to this tab with this tab's state.
    const mine = new URL(b.navigations[0]!);
    const other = new URL(await b.tab().authorizeUrl());
    other.searchParams.set("state", mine.searchParams.get("state")!);
    other.searchParams.set("code_challenge", mine.searchParams.get("code_challenge")!);
    await assert.rejects(tab.handleCallback(b.broker.callbackFor(other.toString())), (e: unknown) => e instanceof BrokerError && e.code === "invalid_id_token");
  });
});

describe("tokens", () => {
  test("memory storage by default: no token in Web Storage", async () => {
    const b = browser();
    const tab = b.tab();
    await b.signIn(tab);
    const at = await tab.getAccessToken();
    const dump = JSON.stringify([...(b.localStorage as unknown as { m: Map<string, string> }).m]);
    assert.ok(at && !dump.includes(at), "access token not in localStorage");
    assert.ok(!dump.includes("refresh"), "no refresh token in localStorage");
  });

  test("localStorage is opt-in and survives a reload", async () => {
    const b = browser();
    const store = new MapStorage();
    const tab = b.tab({ storage: new WebStorage(store, "k", true) });
    await b.signIn(tab);
    const at = await tab.getAccessToken();
    tab.close();
    const reloaded = b.tab({ storage: new WebStorage(store, "k", true), channel: null });
    assert.equal(await reloaded.getAccessToken(), at);
  });

  test("a token about to expire is refreshed before use, once for all callers", async () => {
    const b = browser();
    const tab = b.tab();
    await b.signIn(tab);
    const before = await tab.getAccessToken();
    b.clock.now += 900_000; // past expiry on the local clock
    const got = await Promise.all(Array.from({ length: 5 }, () => tab.getAccessToken()));
    assert.equal(b.broker.refreshes.length, 1);
    assert.ok(got.every((t) => t === got[0] && t !== before));
    assert.ok(b.broker.verify(got[0]!) === "ok");
  });

  test("the refresh happens a little before the broker's expiry", async () => {
    const b = browser();
    b.broker.ttl = 60;
    const tab = b.tab();
    await b.signIn(tab);
    b.clock.now += 53_000;
    await tab.getAccessToken();
    assert.equal(b.broker.refreshes.length, 0);
    b.clock.now += 1_000; // 54 s: within the last tenth
    await tab.getAccessToken();
    assert.equal(b.broker.refreshes.length, 1);
  });

  test("refused refresh: signed out once, invalid_grant", async () => {
    const b = browser();
    const tab = b.tab();
    await b.signIn(tab);
    const seen = events(tab);
    b.broker.refreshFailure = 401;
    const results = await Promise.allSettled([tab.refresh(), tab.refresh(), tab.refresh()]);
    for (const r of results) {
      assert.equal(r.status, "rejected");
      assert.ok((r as PromiseRejectedResult).reason instanceof BrokerError);
      assert.equal(((r as PromiseRejectedResult).reason as BrokerError).code, "invalid_grant");
      assert.ok(((r as PromiseRejectedResult).reason as BrokerError).sessionEnded);
    }
    assert.deepEqual(seen, [{ type: "signedOut", reason: "expired" }]);
    assert.equal(await tab.getAccessToken(), null);
    assert.equal(b.broker.refreshes.length, 1);
  });

  test("unreachable broker: the refresh fails, the session stays", async () => {
    const b = browser();
    const tab = b.tab();
    await b.signIn(tab);
    const seen = events(tab);
    b.broker.refreshFailure = "network";
    await assert.rejects(tab.refresh(), (e: unknown) => e instanceof BrokerError && e.code === "network_error" && !e.sessionEnded);
    assert.deepEqual(seen, []);
    assert.ok(await tab.isAuthenticated());
  });

  test("fetch adds the bearer token and refreshes once on token_expired", async () => {
    const b = browser();
    const tab = b.tab();
    await b.signIn(tab);
    b.broker.expireAccessTokens();
    const res = await tab.fetch(`${ISSUER}/auth/me`);
    assert.equal(res.status, 200);
    assert.equal(b.broker.refreshes.length, 1);
    const me = b.broker.calls.filter((c) => c.path === "/auth/me");
    assert.equal(me.length, 2);
    assert.equal(me[1]!.headers.get("X-Tenant-ID"), CLIENT);
    assert.match(me[1]!.headers.get("Authorization") ?? "", /^Bearer /);
  });

  test("fetch does not refresh on invalid_token", async () => {
    const b = browser();
    const tab = b.tab();
    await b.signIn(tab);
    b.broker.revokeAll();
    const res = await tab.fetch(`${ISSUER}/auth/me`);
    assert.equal(res.status, 401);
    assert.equal(b.broker.refreshes.length, 0);
  });

  test("getUser and getPermissions", async () => {
    const b = browser();
    const tab = b.tab();
    await b.signIn(tab);
    assert.equal((await tab.getUser()).email, "alice@acme.test");
    assert.deepEqual(await tab.getPermissions(), { roles: ["admin"], permissions: ["users:write"] });
  });

  test("check: a revoked session signs out", async () => {
    const b = browser();
    const tab = b.tab();
    await b.signIn(tab);
    assert.equal(await tab.check(), true);
    const seen = events(tab);
    b.broker.revokeAll();
    assert.equal(await tab.check(), false);
    assert.deepEqual(seen, [{ type: "signedOut", reason: "revoked" }]);
  });
});

describe("logout", () => {
  test("revokes at the broker with the refresh token and forgets the tokens", async () => {
    const b = browser();
    const tab = b.tab();
    await b.signIn(tab);
    const at = await tab.getAccessToken();
    const seen = events(tab);
    await Promise.all([tab.logout(), tab.logout()]);
    assert.equal(b.broker.logouts.length, 1);
    assert.ok(JSON.parse(b.broker.logouts[0]!.body).refreshToken);
    assert.equal(b.broker.verify(at!), "invalid_token");
    assert.equal(await tab.getAccessToken(), null);
    assert.deepEqual(seen, [{ type: "signedOut", reason: "logout" }]);
    await tab.logout();
    assert.equal(b.broker.logouts.length, 1, "nothing left to revoke");
  });

  test("signs out even when the broker is unreachable", async () => {
    const b = browser();
    const tab = b.tab({
      fetch: async (u, init) => {
        if (String(u).endsWith("/auth/logout")) throw new TypeError("offline");
        return b.broker.fetch(u, init);
      },
    });
    await b.signIn(tab);
    await tab.logout();
    assert.equal(await tab.getAccessToken(), null);
  });
});

describe("cookie mode", () => {
  function cookieBrowser(): FakeBrowser {
    const broker = new FakeBroker();
    broker.mode = "cookie";
    return browser(broker);
  }

  test("detected from the token response; the refresh token never reaches script", async () => {
    const b = cookieBrowser();
    const store = new MapStorage();
    const tab = b.tab({ storage: new WebStorage(store, "k", true) });
    await b.signIn(tab);
    assert.equal((await tab.session())?.mode, "cookie");
    assert.ok(b.broker.cookie, "the broker set its cookie");
    const stored = store.getItem("k") ?? "";
    assert.ok(!stored.includes(b.broker.cookie!), "no refresh token in storage");
    assert.ok(!JSON.parse(stored).refreshToken);
  });

  test("refresh sends the cookie (credentials), the CSRF header and no token", async () => {
    const b = cookieBrowser();
    const tab = b.tab();
    await b.signIn(tab);
    const before = b.broker.cookie;
    await tab.refresh();
    const call = b.broker.refreshes[0]!;
    assert.equal(call.credentials, "include");
    assert.equal(call.headers.get("X-Broker-CSRF"), "1");
    assert.equal(call.headers.get("X-Tenant-ID"), CLIENT);
    assert.equal(call.body, "");
    assert.notEqual(b.broker.cookie, before, "rotated");
  });

  test("a reload signs in silently from the cookie", async () => {
    const b = cookieBrowser();
    const tab = b.tab();
    await b.signIn(tab);
    tab.close();
    const reloaded = b.tab();
    const seen = events(reloaded);
    const at = await reloaded.getAccessToken();
    assert.ok(at && b.broker.verify(at) === "ok");
    assert.equal(b.broker.refreshes.length, 1);
    assert.deepEqual(
      seen.map((e) => e.type),
      ["refreshed"],
    );
  });

  test("logout clears the cookie at the broker", async () => {
    const b = cookieBrowser();
    const tab = b.tab();
    await b.signIn(tab);
    await tab.logout();
    const call = b.broker.logouts[0]!;
    assert.equal(call.credentials, "include");
    assert.equal(call.headers.get("X-Broker-CSRF"), "1");
    assert.equal(b.broker.cookie, null);
    const reloaded = b.tab();
    assert.equal(await reloaded.getAccessToken(), null);
    assert.equal(b.broker.refreshes.length, 0, "no cookie hint left: no silent refresh attempt");
  });

  test("a dead cookie on reload: signed out, no error", async () => {
    const b = cookieBrowser();
    const tab = b.tab();
    await b.signIn(tab);
    tab.close();
    b.broker.revokeAll();
    const reloaded = b.tab();
    assert.equal(await reloaded.getAccessToken(), null);
    assert.equal(await reloaded.isAuthenticated(), false);
  });
});
