// The example app in a real browser against a real broker: sign in with
// GitHub, identity, parallel API calls after expiry share one refresh, two
// tabs, logout across tabs, cookie mode, and what a reload does with each
// storage choice. Screenshots go to test-results/.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { launchChromium, resultsDir, startApp, startBroker } from "./harness.mjs";

// Short enough to watch refreshes, long enough that a loaded CI machine
// finishes each step well within one token's life.
const ACCESS_TTL_S = 5;
const T = 15_000; // per-step timeout: generous, CI shares two cores with the Go tests

let app;
let broker;
let browser;

before(async () => {
  mkdirSync(resultsDir, { recursive: true });
  app = await startApp();
  broker = await startBroker({ accessTTL: `${ACCESS_TTL_S}s`, exampleOrigin: app.origin });
  app.config.brokerUrl = broker.issuer;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await broker?.close();
  await app?.close();
});

/** A fresh browser profile whose broker traffic is recorded. */
async function newContext() {
  const context = await browser.newContext({ viewport: { width: 1200, height: 820 } });
  context.setDefaultTimeout(T);
  const log = { refreshes: [], bearers: new Map(), refreshToken: "" };
  context.on("response", async (res) => {
    if (res.request().method() !== "POST" || res.status() !== 200) return;
    if (res.url() !== `${broker.issuer}/auth/refresh` && res.url() !== `${broker.issuer}/token`) return;
    const body = await res.json().catch(() => ({}));
    log.refreshToken = body.refreshToken ?? body.refresh_token ?? log.refreshToken; // body mode only
  });
  context.on("request", (req) => {
    const url = req.url();
    if (req.method() === "POST" && url === `${broker.issuer}/auth/refresh`) {
      log.refreshes.push({ body: req.postData() ?? "", headers: req.headers() });
    }
    const auth = req.headers()["authorization"];
    if (auth && url.startsWith(app.origin + "/api/")) log.bearers.set(req.frame().page(), auth);
  });
  return { context, log };
}

/** From the app's start page through the fake GitHub to the dashboard. */
async function signInWithGitHub(page, { screenshot } = {}) {
  await page.goto(app.origin + "/");
  await page.waitForURL(/\/login/);
  const github = page.getByRole("button", { name: "Sign in with GitHub" });
  await github.waitFor();
  await assert.doesNotReject(page.getByRole("button", { name: "Sign in with Google" }).waitFor());
  if (screenshot) await page.screenshot({ path: join(resultsDir, screenshot) });
  await github.click();
  // The fake GitHub's chooser (a stand-in for github.com's sign-in page).
  await page.getByRole("link", { name: /Alice Admin/ }).click();
  await page.waitForURL(app.origin + "/");
  await expectText(page.getByTestId("identity-name"), "Alice Admin");
}

async function expectText(locator, want) {
  await locator.waitFor();
  const deadline = Date.now() + T;
  let got = "";
  while (Date.now() < deadline) {
    got = (await locator.textContent()) ?? "";
    if (want instanceof RegExp ? want.test(got) : got.includes(want)) return got;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`text ${JSON.stringify(got)} does not match ${want}`);
}

/** Waits until the page's access token is due for refresh. */
async function waitForExpiry(page) {
  await page.getByText("refreshes on next call").waitFor({ timeout: ACCESS_TTL_S * 1000 + T });
}

/** Clicks "Send 5 requests" and waits for run n's result. */
async function parallel(page, n) {
  await page.getByRole("button", { name: "Send 5 requests" }).click();
  return expectText(page.getByTestId("parallel-result"), new RegExp(`^Run ${n}: `));
}

async function checkAtBroker(bearer, tenant) {
  const res = await fetch(`${broker.issuer}/auth/check`, { headers: { Authorization: bearer, "X-Tenant-ID": tenant } });
  return { status: res.status, body: await res.json() };
}

/** Presents a refresh token as the app would (body, or the cookie in cookie mode). */
async function refreshAtBroker(tenant, { token, cookie }) {
  const headers = { Origin: app.origin, "X-Tenant-ID": tenant, "X-Broker-CSRF": "1", "Content-Type": "application/json" };
  if (cookie) headers.Cookie = cookie;
  const res = await fetch(`${broker.issuer}/auth/refresh`, { method: "POST", headers, body: token ? JSON.stringify({ refreshToken: token }) : "{}" });
  return { status: res.status, body: await res.json() };
}

describe("example app, refresh tokens in the body (tenant example)", { concurrency: false }, () => {
  let ctx;
  let page1;
  let page2;

  before(async () => {
    app.config.clientId = "example";
    ctx = await newContext();
  });
  after(async () => ctx?.context.close());

  test("signs in with GitHub from the example app; the identity appears", async () => {
    page1 = await ctx.context.newPage();
    await signInWithGitHub(page1, { screenshot: "login.png" });
    await expectText(page1.getByTestId("identity-email"), "alice@acme.test");
    await expectText(page1.getByTestId("roles"), "admin");
    await expectText(page1.getByTestId("permissions"), "users:write");
    await expectText(page1.getByTestId("session-mode"), "in memory");
    await page1.getByRole("button", { name: "Load reports" }).click();
    await expectText(page1.getByTestId("reports-status"), "ok");
    await page1.screenshot({ path: join(resultsDir, "signed-in.png"), fullPage: true });
  });

  test("parallel API calls after expiry trigger exactly one refresh", async () => {
    await waitForExpiry(page1);
    ctx.log.refreshes.length = 0;
    const result = await parallel(page1, 1);
    assert.match(result, /5\/5 succeeded/);
    assert.equal(ctx.log.refreshes.length, 1, "one POST /auth/refresh for five requests");
  });

  test("two tabs refreshing at the same moment both stay signed in", async () => {
    page2 = await ctx.context.newPage();
    await page2.goto(app.origin + "/");
    await expectText(page2.getByTestId("identity-name"), "Alice Admin"); // handed over by the first tab
    await waitForExpiry(page1);
    await waitForExpiry(page2);
    ctx.log.refreshes.length = 0;
    const [r1, r2] = await Promise.all([parallel(page1, 2), parallel(page2, 1)]);
    assert.match(r1, /5\/5 succeeded/);
    assert.match(r2, /5\/5 succeeded/);
    const spent = ctx.log.refreshes.map((r) => JSON.parse(r.body).refreshToken);
    assert.equal(new Set(spent).size, spent.length, "no refresh token was presented twice");
    assert.equal(spent.length, 1, "the second tab took the first tab's new tokens");
    for (const p of [page1, page2]) {
      await expectText(p.getByTestId("identity-name"), "Alice Admin");
      assert.equal((await checkAtBroker(ctx.log.bearers.get(p), "example")).status, 200);
    }
  });

  test("logout in one tab signs out the other", async () => {
    const current = ctx.log.refreshToken; // the tabs' refresh token, from the last refresh answer
    assert.ok(current);
    const revoked = page1.waitForResponse((r) => r.url() === `${broker.issuer}/auth/logout` && r.request().method() === "POST");
    await page1.getByRole("button", { name: "Sign out", exact: true }).click();
    await page1.waitForURL(/\/login/);
    assert.equal((await revoked).status(), 200); // the tabs sign out at once; the broker call follows
    await page2.waitForURL(/\/login\?reason=other-tab/);
    await page2.getByText("You signed out in another tab.").waitFor();
    const r = await refreshAtBroker("example", { token: current });
    assert.equal(r.status, 401);
    assert.equal(r.body.error, "invalid_grant", "the session is revoked at the broker");
    // A reload does not bring the session back.
    await page2.goto(app.origin + "/");
    await page2.waitForURL(/\/login/);
  });
});

describe("example app in cookie mode (tenant example-cookie)", { concurrency: false }, () => {
  let ctx;
  let page1;
  let page2;
  const cookieName = "broker_refresh_example-cookie";
  // context.cookies() sees HttpOnly cookies (page script does not).
  const refreshCookies = async () => (await ctx.context.cookies()).filter((c) => c.name === cookieName);

  before(async () => {
    app.config.clientId = "example-cookie";
    ctx = await newContext();
  });
  after(async () => ctx?.context.close());

  test("signs in; the refresh token is only an HttpOnly cookie", async () => {
    page1 = await ctx.context.newPage();
    const tokenResponse = page1.waitForResponse((r) => r.url() === `${broker.issuer}/token` && r.request().method() === "POST");
    await signInWithGitHub(page1);
    const res = await tokenResponse;
    const body = await res.json();
    assert.ok(body.access_token);
    assert.equal(body.refresh_token, undefined, "no refresh token in the /token body");
    const setCookie = (await res.headersArray()).filter((h) => h.name.toLowerCase() === "set-cookie").map((h) => h.value);
    assert.equal(setCookie.length, 2);
    for (const c of setCookie) assert.match(c, /HttpOnly/i) && assert.match(c, /SameSite=Strict/i);
    await expectText(page1.getByTestId("session-mode"), "HttpOnly cookie");
    await page1.screenshot({ path: join(resultsDir, "signed-in-cookie-mode.png"), fullPage: true });

    const cookies = await refreshCookies();
    assert.deepEqual(cookies.map((c) => c.path).sort(), ["/auth/logout", "/auth/refresh"]);
    for (const c of cookies) {
      assert.equal(c.httpOnly, true);
      assert.equal(c.sameSite, "Strict");
    }
  });

  test("the refresh token is never readable from page script", async () => {
    const [value] = (await refreshCookies()).map((c) => c.value);
    assert.ok(value);
    const seen = await page1.evaluate(() => [document.cookie, JSON.stringify({ ...localStorage }), JSON.stringify({ ...sessionStorage })].join("\n"));
    assert.ok(!seen.includes(value) && !seen.includes(cookieName), `page script sees: ${seen}`);
    // Not even on the broker's origin, on the very path the cookie is for.
    const probe = await ctx.context.newPage();
    await probe.goto(`${broker.issuer}/auth/refresh`);
    const there = await probe.evaluate(() => document.cookie);
    assert.ok(!there.includes(cookieName), `document.cookie at /auth/refresh: ${there}`);
    await probe.close();
  });

  test("refresh works from the cookie: parallel calls after expiry, one refresh", async () => {
    const before = (await refreshCookies())[0].value;
    await waitForExpiry(page1);
    ctx.log.refreshes.length = 0;
    assert.match(await parallel(page1, 1), /5\/5 succeeded/);
    assert.equal(ctx.log.refreshes.length, 1);
    const r = ctx.log.refreshes[0];
    assert.equal(r.body, "", "no token in the refresh request");
    assert.equal(r.headers["x-broker-csrf"], "1");
    assert.notEqual((await refreshCookies())[0].value, before, "the cookie was rotated");
  });

  test("a reload stays signed in (the cookie refreshes silently)", async () => {
    ctx.log.refreshes.length = 0;
    await page1.reload();
    await expectText(page1.getByTestId("identity-name"), "Alice Admin");
    assert.ok(ctx.log.refreshes.length >= 1, "the access token came from a refresh with the cookie");
    assert.equal(new URL(page1.url()).pathname, "/", "no detour through the login page");
  });

  test("two tabs refreshing at the same moment both stay signed in", async () => {
    page2 = await ctx.context.newPage();
    await page2.goto(app.origin + "/");
    await expectText(page2.getByTestId("identity-name"), "Alice Admin");
    await waitForExpiry(page1);
    await waitForExpiry(page2);
    ctx.log.refreshes.length = 0;
    const [r1, r2] = await Promise.all([parallel(page1, 1), parallel(page2, 1)]);
    assert.match(r1, /5\/5 succeeded/);
    assert.match(r2, /5\/5 succeeded/);
    assert.equal(ctx.log.refreshes.length, 1, "one refresh for both tabs");
    for (const p of [page1, page2]) assert.equal((await checkAtBroker(ctx.log.bearers.get(p), "example-cookie")).status, 200);
  });

  test("logout clears the cookie and signs out the other tab", async () => {
    const [old] = await refreshCookies();
    const revoked = page1.waitForResponse((r) => r.url() === `${broker.issuer}/auth/logout` && r.request().method() === "POST");
    await page1.getByRole("button", { name: "Sign out", exact: true }).click();
    await page1.waitForURL(/\/login/);
    assert.equal((await revoked).status(), 200); // the tabs sign out at once; the broker call follows
    await page2.waitForURL(/\/login\?reason=other-tab/);
    assert.deepEqual(await refreshCookies(), [], "the browser dropped the refresh cookies");
    const r = await refreshAtBroker("example-cookie", { cookie: `${cookieName}=${old.value}` });
    assert.equal(r.status, 401);
    assert.equal(r.body.error, "invalid_grant", "the session is revoked at the broker");
    await page1.goto(app.origin + "/");
    await page1.waitForURL(/\/login/);
  });
});

describe("where tokens are kept: what a reload does (tenant example)", { concurrency: false }, () => {
  before(() => {
    app.config.clientId = "example";
  });
  after(() => {
    app.config.storage = "memory";
  });

  /** Runs fn with a fresh browser profile whose app keeps tokens in storage. */
  async function withStorage(storage, fn) {
    app.config.storage = storage;
    const ctx = await newContext();
    try {
      await fn(await ctx.context.newPage(), ctx);
    } finally {
      await ctx.context.close();
    }
  }

  test("memory (the default): a reload with no other tab open signs in again through the broker's session, without the upstream; after a logout it does not", async () => {
    await withStorage("memory", async (page) => {
      await signInWithGitHub(page);
      await expectText(page.getByTestId("session-mode"), "in memory");
      await expectText(page.getByTestId("session-storage"), "from your session at the broker");
      const visited = [];
      const toBroker = [];
      page.on("framenavigated", (f) => f === page.mainFrame() && visited.push(new URL(f.url())));
      page.on("request", (r) => r.isNavigationRequest() && r.url().startsWith(broker.issuer) && toBroker.push(new URL(r.url())));
      await page.reload();
      await expectText(page.getByTestId("identity-name"), "Alice Admin");
      assert.deepEqual(
        toBroker.map((u) => [u.pathname, u.searchParams.get("prompt")]),
        [["/authorize", "none"]],
        "one silent sign-in, no trip to the fake upstream",
      );
      assert.deepEqual(visited.filter((u) => u.pathname.startsWith("/login")), [], "no detour through the login page");
      assert.ok(visited.some((u) => u.pathname === "/callback"), "back through the callback");
      assert.deepEqual(await page.evaluate(() => sessionStorage.getItem("broker:example:tokens")), null, "nothing in storage");
      // Signed out on purpose: the next visit stays signed out, though the broker's session lives.
      await page.getByRole("button", { name: "Sign out", exact: true }).click();
      await page.waitForURL(/\/login/);
      await page.goto(app.origin + "/");
      await page.waitForURL(/\/login/);
      assert.equal(toBroker.length, 1, "no silent sign-in after a logout");
      await expectText(page.getByTestId("storage-note"), "a reload asks the broker again");
      await page.screenshot({ path: join(resultsDir, "reload-memory.png") });
    });
  });

  test("sessionStorage: a reload stays signed in, and the page says the tokens are readable by script", async () => {
    await withStorage("sessionStorage", async (page) => {
      await signInWithGitHub(page);
      await expectText(page.getByTestId("session-mode"), "in sessionStorage");
      await expectText(page.getByTestId("session-storage"), "any script on this page can read them");
      const stored = await page.evaluate(() => sessionStorage.getItem("broker:example:tokens"));
      assert.match(stored ?? "", /"refreshToken"/, "the tokens are in this tab's sessionStorage");
      const visited = [];
      page.on("framenavigated", (f) => f === page.mainFrame() && visited.push(f.url()));
      await page.reload();
      await expectText(page.getByTestId("identity-name"), "Alice Admin");
      assert.deepEqual(visited.filter((u) => /\/login|\/authorize/.test(u)), [], "no detour through the login page or the broker");
    });
  });
});
