// Restoring a session after a reload or in a new tab without a refresh
// token in storage: through the broker's session (a top-level redirect with
// prompt=none) or the refresh cookie, and never in a loop.
import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import { BrokerClient, type BrokerClientOptions, type BrokerEvent } from "../src/client.js";
import { BrokerError } from "../src/errors.js";
import { MapStorage, type StorageLike } from "../src/storage.js";
import { CLIENT, FakeBroker, FakeBrowser, ISSUER, REDIRECT } from "./fakes.js";

const APP = "https://app.test";

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

/**
 * One browser tab of the app: its sessionStorage survives reloads, its
 * memory does not. load() is a page load at a URL: a new client, as the
 * app makes on every page load.
 */
class Tab {
  readonly session = new MapStorage();
  client!: BrokerClient;
  url = APP + "/";
  constructor(
    readonly b: FakeBrowser,
    private readonly options: Partial<BrokerClientOptions> = {},
  ) {}

  load(url = this.url): BrokerClient {
    this.client?.close();
    this.url = url;
    this.client = this.b.tab({ pendingStorage: this.session, currentUrl: () => this.url, ...this.options });
    return this.client;
  }

  /** Where the last navigation went, as a URL. */
  lastNavigation(): URL {
    return new URL(this.b.navigations.at(-1)!);
  }

  /** The broker answers the last navigation; the app's callback route handles it. */
  async followToCallback(): Promise<{ returnTo?: string; error?: string }> {
    const cb = this.b.broker.callbackFor(this.b.navigations.at(-1)!);
    const result = await this.load(cb).handleCallback(cb);
    this.url = APP + (result.returnTo ?? "/"); // the app's router goes there (no page load)
    return result;
  }

  /** An explicit sign-in from this tab (the login button), through the upstream. */
  async signIn(): Promise<void> {
    await this.client.login({ provider: "github" });
    await this.followToCallback();
  }
}

function silentAttempts(b: FakeBrowser): URL[] {
  return b.navigations.map((u) => new URL(u)).filter((u) => u.searchParams.get("prompt") === "none");
}

describe("silent sign-in through the broker's session", () => {
  test("a tab with no session redirects once with prompt=none; the broker's session signs it in, back where it was", async () => {
    const b = browser();
    b.broker.sso = true; // signed in to another app of the broker in this browser
    const tab = new Tab(b);
    const c = tab.load(APP + "/reports?page=2#top");
    assert.equal(await c.isAuthenticated(), false, "this page is leaving");
    const [attempt, ...more] = silentAttempts(b);
    assert.equal(more.length, 0);
    assert.equal(attempt!.origin + attempt!.pathname, ISSUER + "/authorize");
    const q = attempt!.searchParams;
    assert.equal(q.get("client_id"), CLIENT);
    assert.equal(q.get("redirect_uri"), REDIRECT);
    assert.equal(q.get("code_challenge_method"), "S256");
    assert.ok(q.get("state") && q.get("nonce"));
    assert.equal(q.get("provider"), null, "whichever provider the broker's session has");

    const result = await tab.followToCallback();
    assert.deepEqual(result, { returnTo: "/reports?page=2#top" });
    assert.equal(await tab.client.isAuthenticated(), true);
    assert.ok(await tab.client.getAccessToken());
    assert.equal(b.broker.upstreamTrips, 0, "no trip upstream");
    assert.equal(silentAttempts(b).length, 1);
  });

  test("login_required: the callback resolves signed out with the return path, and no reload of the tab tries again (no loop)", async () => {
    const b = browser();
    const tab = new Tab(b);
    tab.load(APP + "/reports");
    assert.equal(await tab.client.isAuthenticated(), false);
    assert.equal(silentAttempts(b).length, 1);
    const result = await tab.followToCallback();
    assert.deepEqual(result, { returnTo: "/reports", error: "login_required" });
    assert.equal(await tab.client.isAuthenticated(), false);
    assert.equal(await tab.client.getAccessToken(), null);
    assert.equal(b.broker.calls.filter((c) => c.path === "/token").length, 0, "no code, nothing redeemed");

    // The app goes back to /reports, its guard checks, sends the user to
    // /login; the user reloads a few times.
    for (const url of [APP + "/reports", APP + "/login?to=%2Freports", APP + "/login", APP + "/"]) {
      const c = tab.load(url);
      assert.equal(await c.check(), false);
      assert.equal(await c.isAuthenticated(), false);
    }
    assert.equal(silentAttempts(b).length, 1, "one attempt in this tab, whatever happens next");
  });

  test("interaction_required (the app cannot use the broker's session without the user) is signed out too", async () => {
    const b = browser();
    const tab = new Tab(b);
    await tab.load().isAuthenticated();
    const state = tab.lastNavigation().searchParams.get("state")!;
    const cb = `${REDIRECT}?error=interaction_required&state=${state}&iss=${encodeURIComponent(ISSUER)}`;
    assert.deepEqual(await tab.load(cb).handleCallback(cb), { returnTo: "/", error: "interaction_required" });
    assert.equal(await tab.load(APP + "/").isAuthenticated(), false);
    assert.equal(silentAttempts(b).length, 1);
  });

  test("another error of a silent sign-in throws, and the tab does not try again", async () => {
    const b = browser();
    const tab = new Tab(b);
    await tab.load().isAuthenticated();
    const state = tab.lastNavigation().searchParams.get("state")!;
    const cb = `${REDIRECT}?error=access_denied&state=${state}&iss=${encodeURIComponent(ISSUER)}`;
    await assert.rejects(tab.load(cb).handleCallback(cb), (e) => e instanceof BrokerError && e.code === "access_denied");
    await tab.load(APP + "/").isAuthenticated();
    assert.equal(silentAttempts(b).length, 1);
  });

  test("an explicit login is an error as before, even with a prompt the app chose", async () => {
    const b = browser();
    const tab = new Tab(b, { silentSignIn: false });
    await tab.load().login({ prompt: "login" });
    const state = tab.lastNavigation().searchParams.get("state")!;
    const cb = `${REDIRECT}?error=login_required&state=${state}&iss=${encodeURIComponent(ISSUER)}`;
    await assert.rejects(tab.load(cb).handleCallback(cb), (e) => e instanceof BrokerError && e.code === "login_required");
  });

  test("a redirect that never came back (Back pressed, or a callback route that does not complete it) is not made again", async () => {
    const b = browser();
    b.broker.sso = true;
    const tab = new Tab(b);
    await tab.load().isAuthenticated();
    assert.equal(silentAttempts(b).length, 1);
    // The user came back to the app without the callback.
    assert.equal(await tab.load(APP + "/").isAuthenticated(), false);
    assert.equal(silentAttempts(b).length, 1);
  });

  test("reloads after a used silent sign-in sign in again each time", async () => {
    const b = browser();
    b.broker.sso = true;
    const tab = new Tab(b);
    for (let i = 1; i <= 4; i++) {
      await tab.load(APP + "/").isAuthenticated();
      assert.equal(silentAttempts(b).length, i);
      await tab.followToCallback();
      assert.equal(await tab.client.check(), true, "the app's guard passes: the tokens are used");
    }
    assert.equal(b.broker.upstreamTrips, 0);
  });

  test("tokens lost before the app used them (a full reload right after the callback) are not fetched again: no loop", async () => {
    const b = browser();
    b.broker.sso = true;
    const tab = new Tab(b);
    await tab.load(APP + "/").isAuthenticated();
    await tab.followToCallback();
    // The callback page does location.assign(returnTo): a new page, memory gone.
    for (let i = 0; i < 3; i++) assert.equal(await tab.load(APP + "/").isAuthenticated(), false);
    assert.equal(silentAttempts(b).length, 1);
    // The login button brings everything back, from the broker's session.
    await tab.signIn();
    assert.equal(await tab.client.check(), true);
    assert.equal(b.broker.upstreamTrips, 0);
    assert.equal(await tab.load(APP + "/").isAuthenticated(), false, "leaving for the broker");
    assert.equal(silentAttempts(b).length, 2, "silent sign-in works again after a sign-in on purpose");
  });

  test("an explicit sign-in after login_required makes the next reload silent again", async () => {
    const b = browser();
    const tab = new Tab(b);
    await tab.load(APP + "/").isAuthenticated();
    await tab.followToCallback(); // login_required
    tab.load(APP + "/login");
    await tab.signIn();
    assert.equal(b.broker.upstreamTrips, 1);
    assert.equal(await tab.client.check(), true);
    // Reload: memory is gone, no other tab: the broker's session restores it.
    assert.equal(await tab.load(APP + "/").isAuthenticated(), false);
    assert.equal(silentAttempts(b).length, 2);
    await tab.followToCallback();
    assert.equal(await tab.client.isAuthenticated(), true);
    assert.equal(b.broker.upstreamTrips, 1, "the reload went to the broker only");
  });

  test("no attempt on the callback URL, with silentSignIn: false, or outside a page", async () => {
    const b = browser();
    b.broker.sso = true;
    const onCallback = new Tab(b);
    assert.equal(await onCallback.load(`${REDIRECT}?code=x&state=y`).isAuthenticated(), false);
    const off = new Tab(b, { silentSignIn: false });
    assert.equal(await off.load().isAuthenticated(), false);
    const noPage = b.tab({ currentUrl: () => undefined });
    assert.equal(await noPage.isAuthenticated(), false);
    assert.equal(b.navigations.length, 0);
  });

  test("storage that refuses writes: no redirect (the guard could not be kept)", async () => {
    const b = browser();
    b.broker.sso = true;
    const refusing: StorageLike = {
      getItem: () => null,
      setItem: () => {
        throw new Error("QuotaExceededError");
      },
      removeItem: () => undefined,
    };
    const c = b.tab({ pendingStorage: refusing, currentUrl: () => APP + "/" });
    assert.equal(await c.isAuthenticated(), false);
    assert.equal(b.navigations.length, 0);
  });
});

describe("which restore is used when", () => {
  test("another open tab of the app hands its session over: no redirect", async () => {
    const b = browser();
    const first = new Tab(b);
    first.load(APP + "/login");
    await first.signIn();
    const second = new Tab(b);
    assert.equal(await second.load().isAuthenticated(), true);
    assert.equal(silentAttempts(b).length, 0);
  });

  test("cookie mode: the refresh cookie restores a reload without leaving the page", async () => {
    const broker = new FakeBroker();
    broker.mode = "cookie";
    const b = browser(broker);
    const tab = new Tab(b);
    tab.load(APP + "/login");
    await tab.signIn();
    const navigations = b.navigations.length;
    assert.equal(await tab.load(APP + "/").isAuthenticated(), true);
    assert.equal(b.navigations.length, navigations, "no navigation");
    assert.equal(broker.refreshes.length, 1);
  });

  test("cookie mode, the cookie refused (its app session ended): the broker's session is asked next", async () => {
    const broker = new FakeBroker();
    broker.mode = "cookie";
    const b = browser(broker);
    const tab = new Tab(b);
    tab.load(APP + "/login");
    await tab.signIn();
    broker.cookie = null; // e.g. the cookie expired
    assert.equal(await tab.load(APP + "/").isAuthenticated(), false);
    assert.equal(silentAttempts(b).length, 1);
    await tab.followToCallback();
    assert.equal(await tab.client.isAuthenticated(), true);
    assert.ok(broker.cookie, "the new sign-in set a new refresh cookie");
  });

  test("stored tokens (sessionStorage) need nothing else", async () => {
    const b = browser();
    const tab = new Tab(b, { storage: "memory" });
    const stored = new MapStorage();
    const mk = () => b.tab({ pendingStorage: tab.session, currentUrl: () => APP + "/", storage: { shared: false, load: () => JSON.parse(stored.getItem("t") ?? "null"), save: (t) => stored.setItem("t", JSON.stringify(t)), clear: () => stored.removeItem("t") } });
    const c = mk();
    await c.login();
    const cb = b.broker.callbackFor(b.navigations.at(-1)!);
    await c.handleCallback(cb);
    assert.equal(await mk().isAuthenticated(), true);
    assert.equal(silentAttempts(b).length, 0);
  });
});

describe("logout and silent sign-in", () => {
  function events(c: BrokerClient): BrokerEvent[] {
    const got: BrokerEvent[] = [];
    c.subscribe((e) => got.push(e));
    return got;
  }

  test("after a logout in the app no tab of it signs in silently, though the broker's session lives; a sign-in on purpose lifts that", async () => {
    const b = browser();
    b.broker.sso = true;
    const tab = new Tab(b);
    await tab.load().isAuthenticated();
    await tab.followToCallback();
    assert.equal(await tab.client.check(), true);
    await tab.client.logout();
    assert.equal(b.broker.sso, true, "this app's session only");
    const attempts = silentAttempts(b).length;
    assert.equal(await tab.load(APP + "/").isAuthenticated(), false);
    const other = new Tab(b);
    assert.equal(await other.load(APP + "/").isAuthenticated(), false);
    assert.equal(silentAttempts(b).length, attempts, "no silent sign-in after a logout");

    tab.load(APP + "/login");
    await tab.signIn();
    other.client.close();
    assert.equal(await tab.load(APP + "/").isAuthenticated(), false, "a reload: leaving for the broker");
    assert.equal(silentAttempts(b).length, attempts + 1);
  });

  test("logout never signs in through the broker only to sign out", async () => {
    const b = browser();
    b.broker.sso = true;
    const tab = new Tab(b);
    await tab.load().logout();
    assert.equal(b.navigations.length, 0);
  });

  test("logout({ everywhere: true }) ends the broker's session (body mode: with the refresh token)", async () => {
    const b = browser();
    const tab = new Tab(b);
    tab.load(APP + "/login");
    await tab.signIn();
    const seen = events(tab.client);
    await tab.client.logout({ everywhere: true });
    const call = b.broker.logouts.at(-1)!;
    const body = JSON.parse(call.body) as Record<string, unknown>;
    assert.equal(body["everywhere"], true);
    assert.ok(body["refreshToken"]);
    assert.equal(b.broker.sso, false);
    assert.deepEqual(seen, [{ type: "signedOut", reason: "logout" }]);
  });

  test("logout({ everywhere: true }) in cookie mode: the cookie, and everywhere in the body", async () => {
    const broker = new FakeBroker();
    broker.mode = "cookie";
    const b = browser(broker);
    const tab = new Tab(b);
    tab.load(APP + "/login");
    await tab.signIn();
    await tab.client.logout({ everywhere: true });
    const call = broker.logouts.at(-1)!;
    assert.equal(call.credentials, "include");
    assert.deepEqual(JSON.parse(call.body), { everywhere: true });
    assert.equal(broker.sso, false);
    assert.equal(broker.cookie, null);
  });

  test("a tab of another app, its session ended everywhere, is signed out at its next check and does not loop", async () => {
    const broker = new FakeBroker();
    const b = browser(broker);
    // App B's tab, signed in from the broker's session.
    broker.sso = true;
    const appB = new Tab(b);
    await appB.load().isAuthenticated();
    await appB.followToCallback();
    assert.equal(await appB.client.check(), true);
    const seen = events(appB.client);
    // App A (another origin, its own storage) logs out everywhere.
    broker.sso = false;
    broker.revokeAll();
    assert.equal(await appB.client.check(), false);
    assert.deepEqual(seen, [{ type: "signedOut", reason: "revoked" }]);
    // A reload of B asks the broker once, and stays signed out.
    assert.equal(await appB.load().isAuthenticated(), false);
    assert.deepEqual(await appB.followToCallback(), { returnTo: "/", error: "login_required" });
    assert.equal(await appB.load().isAuthenticated(), false);
    assert.equal(silentAttempts(b).length, 2);
  });
});

describe("a tab shown again checks its session", () => {
  // A page's document, as far as the client looks at it.
  class FakeDocument extends EventTarget {
    visibilityState: "visible" | "hidden" = "visible";
    show(state: "visible" | "hidden"): void {
      this.visibilityState = state;
      this.dispatchEvent(new Event("visibilitychange"));
    }
  }
  const g = globalThis as { document?: unknown };
  afterEach(() => {
    delete g.document;
  });
  const settle = () => new Promise((r) => setTimeout(r, 20));

  test("a session ended elsewhere signs the tab out when it is shown again; hidden, signed out or just checked: no call", async () => {
    const doc = new FakeDocument();
    g.document = doc;
    const b = browser();
    const tab = new Tab(b);
    tab.load(APP + "/login");
    await tab.signIn();
    const seen: BrokerEvent[] = [];
    tab.client.subscribe((e) => seen.push(e));
    const checks = () => b.broker.calls.filter((c) => c.path === "/auth/check").length;

    doc.show("hidden");
    await settle();
    assert.equal(checks(), 0, "hiding asks nothing");
    doc.show("visible");
    await settle();
    assert.equal(checks(), 1);
    assert.deepEqual(seen, [], "alive: nothing happens");

    b.broker.revokeAll(); // e.g. logout everywhere in another app
    doc.show("visible");
    await settle();
    assert.equal(checks(), 1, "not again within 5 seconds");
    b.clock.now += 5000;
    doc.show("visible");
    await settle();
    assert.equal(checks(), 2);
    assert.deepEqual(seen, [{ type: "signedOut", reason: "revoked" }]);
    assert.equal(await tab.client.isAuthenticated(), false);

    b.clock.now += 5000;
    doc.show("visible");
    await settle();
    assert.equal(checks(), 2, "signed out: nothing to check");
  });

  test("checkWhenShown: false, or a closed client: no check", async () => {
    const doc = new FakeDocument();
    g.document = doc;
    const b = browser();
    const off = new Tab(b, { checkWhenShown: false });
    off.load(APP + "/login");
    await off.signIn();
    const closed = new Tab(b);
    closed.load(APP + "/login");
    await closed.signIn();
    closed.client.close();
    doc.show("visible");
    await settle();
    assert.equal(b.broker.calls.filter((c) => c.path === "/auth/check").length, 0);
  });
});
