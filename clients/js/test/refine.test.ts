import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import type { AuthProvider } from "@refinedev/core";
import { createAuthProvider } from "../src/refine.js";
import { MapStorage } from "../src/storage.js";
import { FakeBroker, FakeBrowser, ISSUER } from "./fakes.js";

// Compile-time: the provider is a Refine AuthProvider (tsc checks this file).
const _typeCheck = (p: ReturnType<typeof createAuthProvider>): AuthProvider => p;
void _typeCheck;

let browsers: FakeBrowser[] = [];
afterEach(() => {
  for (const b of browsers) b.close();
  browsers = [];
});

async function setup(signedIn = true) {
  const b = new FakeBrowser(new FakeBroker());
  browsers.push(b);
  const client = b.tab();
  if (signedIn) await b.signIn(client);
  b.navigations = [];
  const provider: AuthProvider = createAuthProvider(client);
  return { b, client, provider };
}

const NOT_SUPPORTED = "not supported: sign-in is delegated to the broker";

describe("Refine auth provider", () => {
  test("login({ providerName }) goes to the broker's sign-in with that provider", async () => {
    const { b, provider } = await setup(false);
    const r = await provider.login({ providerName: "github", redirectTo: "/reports" });
    assert.deepEqual(r, { success: true });
    assert.equal(b.navigations.length, 1);
    const u = new URL(b.navigations[0]!);
    assert.equal(u.origin + u.pathname, ISSUER + "/authorize");
    assert.equal(u.searchParams.get("provider"), "github");
  });

  test("logout() ends this app's session; logout({ everywhere: true }) the broker's session too", async () => {
    const one = await setup();
    one.b.broker.sso = true;
    assert.deepEqual(await one.provider.logout({}), { success: true, redirectTo: "/login" });
    assert.equal(JSON.parse(one.b.broker.logouts.at(-1)!.body)["everywhere"], undefined);
    assert.equal(one.b.broker.sso, true);
    const all = await setup();
    assert.equal(all.b.broker.sso, true, "signed in through the upstream: a broker session");
    assert.deepEqual(await all.provider.logout({ everywhere: true, redirectPath: "/bye" }), { success: true, redirectTo: "/bye" });
    assert.equal(JSON.parse(all.b.broker.logouts.at(-1)!.body)["everywhere"], true);
    assert.equal(all.b.broker.sso, false);
  });

  test("check after a reload: the broker's session signs in again through the provider alone (prompt=none), once", async () => {
    const b = new FakeBrowser(new FakeBroker());
    browsers.push(b);
    b.broker.sso = true;
    const session = new MapStorage(); // the tab's sessionStorage, across page loads
    let here = "https://app.test/reports";
    const page = () => createAuthProvider(b.tab({ pendingStorage: session, currentUrl: () => here }));
    const before = await page().check();
    assert.equal(before.authenticated, false, "the page is leaving for the broker");
    const [authorize] = b.navigations;
    assert.equal(new URL(authorize!).searchParams.get("prompt"), "none");
    // The broker answers at once; the app's callback route completes it.
    here = b.broker.callbackFor(authorize!);
    const client = b.tab({ pendingStorage: session, currentUrl: () => here });
    assert.deepEqual(await client.handleCallback(here), { returnTo: "/reports" });
    here = "https://app.test/reports";
    assert.deepEqual(await createAuthProvider(client).check(), { authenticated: true });
    assert.equal(b.broker.upstreamTrips, 0);
    assert.equal(b.navigations.length, 1);
  });

  test("check: signed in", async () => {
    const { provider } = await setup();
    assert.deepEqual(await provider.check(), { authenticated: true });
  });

  test("check: signed out → logout and the login page", async () => {
    const { provider } = await setup(false);
    const r = await provider.check();
    assert.equal(r.authenticated, false);
    assert.equal(r.logout, true);
    assert.equal(r.redirectTo, "/login");
  });

  test("check: a session revoked at the broker → logout", async () => {
    const { b, provider } = await setup();
    b.broker.revokeAll();
    const r = await provider.check();
    assert.equal(r.authenticated, false);
    assert.equal(r.logout, true);
  });

  test("check: an expired access token is refreshed, not a logout", async () => {
    const { b, provider } = await setup();
    b.broker.expireAccessTokens();
    assert.deepEqual(await provider.check(), { authenticated: true });
    assert.equal(b.broker.refreshes.length, 1);
  });

  test("onError: 401 → logout and the login page", async () => {
    const { provider } = await setup();
    const error = { response: { status: 401, data: { error: "invalid_token" } }, message: "401" };
    const r = await provider.onError(error);
    assert.equal(r.logout, true);
    assert.equal(r.redirectTo, "/login");
    assert.ok(r.error);
  });

  test("onError: 401 after the interceptor's retry → logout, no second refresh", async () => {
    const { b, provider } = await setup();
    const error = { response: { status: 401, data: { error: "token_expired" } }, config: { _brokerRetried: true } };
    const r = await provider.onError(error);
    assert.equal(r.logout, true);
    assert.equal(b.broker.refreshes.length, 0);
  });

  test("onError: 401 token_expired from another HTTP client → refreshed, no logout", async () => {
    const { b, provider } = await setup();
    const r = await provider.onError({ response: { status: 401, data: { error: "token_expired" } } });
    assert.deepEqual(r, {});
    assert.equal(b.broker.refreshes.length, 1);
  });

  test("onError: 403 is not a logout", async () => {
    const { provider } = await setup();
    for (const error of [{ response: { status: 403 } }, { statusCode: 403, message: "Forbidden" }]) {
      const r = await provider.onError(error);
      assert.equal(r.logout, undefined);
      assert.equal(r.redirectTo, undefined);
      assert.ok(r.error, "the error is passed on for a notification");
    }
  });

  test("onError: other errors are left to the app", async () => {
    const { provider } = await setup();
    assert.deepEqual(await provider.onError({ statusCode: 500 }), {});
    assert.deepEqual(await provider.onError(new Error("network")), {});
  });

  test("getIdentity is /auth/me; getPermissions is /auth/permissions", async () => {
    const { provider } = await setup();
    const me = (await provider.getIdentity?.()) as { name: string; roles: string[] };
    assert.equal(me.name, "Alice");
    assert.deepEqual(me.roles, ["admin"]);
    assert.deepEqual(await provider.getPermissions?.(), { roles: ["admin"], permissions: ["users:write"] });
  });

  test("getIdentity and getPermissions when signed out: null", async () => {
    const { provider } = await setup(false);
    assert.equal(await provider.getIdentity?.(), null);
    assert.equal(await provider.getPermissions?.(), null);
  });

  test("logout revokes at the broker and goes to the login page", async () => {
    const { b, client, provider } = await setup();
    const r = await provider.logout({});
    assert.deepEqual(r, { success: true, redirectTo: "/login" });
    assert.equal(b.broker.logouts.length, 1);
    assert.equal(await client.getAccessToken(), null);
  });

  test("register, forgotPassword and updatePassword are not supported", async () => {
    const { provider } = await setup(false);
    for (const m of [provider.register, provider.forgotPassword, provider.updatePassword]) {
      const r = await m!({ email: "a@b.c", password: "x" });
      assert.equal(r.success, false);
      assert.equal(r.error?.message, NOT_SUPPORTED);
      assert.ok(r.error?.name);
    }
  });
});
