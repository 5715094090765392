// Single sign-on and single sign-out between two apps in a real browser:
// the example app served twice, as tenant "example" on http://127.0.0.1
// and as tenant "example-b" on http://localhost (another site), against a
// real broker. Both keep tokens in memory (the default): nothing survives
// a reload but what the broker's session gives back.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { launchChromium, resultsDir, startApp, startBroker } from "./harness.mjs";

const T = 15_000; // per-step timeout: generous, CI shares two cores with the Go tests

let appA;
let appB;
let broker;
let browser;

before(async () => {
  mkdirSync(resultsDir, { recursive: true });
  appA = await startApp({ clientId: "example" });
  appB = await startApp({ clientId: "example-b", host: "localhost" });
  broker = await startBroker({ accessTTL: "120s", exampleOrigin: appA.origin, exampleOriginB: appB.origin });
  appA.config.brokerUrl = broker.issuer;
  appB.config.brokerUrl = broker.issuer;
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  await broker?.close();
  await appA?.close();
  await appB?.close();
});

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

async function until(what, fn) {
  const deadline = Date.now() + T;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const claims = (jwt) => JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString("utf8"));

describe("single sign-on between two apps (tenants example and example-b)", { concurrency: false }, () => {
  let context;
  let pageA;
  let pageB;
  // What the browser did: requests to the fake upstreams (the stand-ins
  // for accounts.google.com and github.com), /authorize requests, the
  // pages' bearer tokens to their APIs, and the pages' navigations.
  const upstream = [];
  const authorizes = [];
  const bearers = new Map();
  const visited = new Map();

  before(async () => {
    context = await browser.newContext({ viewport: { width: 1200, height: 820 } });
    context.setDefaultTimeout(T);
    context.on("request", (req) => {
      const url = new URL(req.url());
      if (url.origin === broker.issuer && url.pathname.startsWith("/_fake/")) upstream.push(req.url());
      if (url.origin === broker.issuer && url.pathname === "/authorize") authorizes.push(url.searchParams);
      const auth = req.headers()["authorization"];
      if (auth && url.pathname.startsWith("/api/")) bearers.set(req.frame().page(), auth.replace(/^Bearer /, ""));
    });
    context.on("page", (page) => {
      visited.set(page, []);
      page.on("framenavigated", (f) => f === page.mainFrame() && visited.get(page).push(f.url()));
    });
  });
  after(async () => context?.close());

  /** Answers /authorize?prompt=none for tenant with this browser's cookies; returns the redirect's query. */
  async function silentAnswer(origin, tenant) {
    const q = new URLSearchParams({
      response_type: "code",
      client_id: tenant,
      redirect_uri: `${origin}/callback`,
      scope: "openid",
      state: "probe",
      prompt: "none",
      code_challenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
      code_challenge_method: "S256",
    });
    const res = await context.request.get(`${broker.issuer}/authorize?${q}`, { maxRedirects: 0 });
    assert.ok([302, 303].includes(res.status()), `prompt=none answered ${res.status()}`);
    const loc = new URL(res.headers()["location"]);
    assert.equal(loc.origin + loc.pathname, `${origin}/callback`, "prompt=none never shows a page");
    return loc.searchParams;
  }

  test("app A: the first visit asks the broker silently (no session yet: login_required), then the user signs in once upstream", async () => {
    pageA = await context.newPage();
    await pageA.goto(appA.origin + "/");
    await pageA.waitForURL(/\/login/);
    const tries = authorizes.filter((q) => q.get("client_id") === "example");
    assert.equal(tries.length, 1);
    assert.equal(tries[0].get("prompt"), "none");
    assert.ok(
      visited.get(pageA).some((u) => u.startsWith(`${appA.origin}/callback?`) && new URL(u).searchParams.get("error") === "login_required"),
      "the broker answered login_required to the app's callback",
    );
    assert.equal(upstream.length, 0, "no trip upstream without the user");

    await pageA.getByRole("button", { name: "Sign in with GitHub" }).click();
    await pageA.getByRole("link", { name: /Alice Admin/ }).click(); // the fake GitHub's chooser
    await pageA.waitForURL(appA.origin + "/");
    await expectText(pageA.getByTestId("identity-name"), "Alice Admin");
    assert.ok(upstream.length > 0, "this sign-in went to the upstream");
    assert.equal(authorizes.filter((q) => q.get("client_id") === "example" && q.get("prompt") === "none").length, 1, "no loop");
  });

  test("app B in a second tab (another site): signed in from the broker's session, no trip upstream, no login page", async () => {
    const trips = upstream.length;
    pageB = await context.newPage();
    await pageB.goto(appB.origin + "/");
    await expectText(pageB.getByTestId("identity-name"), "Alice Admin");
    await expectText(pageB.getByTestId("identity-email"), "alice@acme.test");
    assert.equal(upstream.length, trips, "no request reached the fake upstream");
    const tries = authorizes.filter((q) => q.get("client_id") === "example-b");
    assert.deepEqual(
      tries.map((q) => q.get("prompt")),
      ["none"],
      "one silent sign-in",
    );
    assert.deepEqual(visited.get(pageB).filter((u) => /\/login/.test(new URL(u).pathname)), [], "never on B's login page");
    await pageB.getByRole("button", { name: "Load reports" }).click();
    await expectText(pageB.getByTestId("reports-status"), "ok");
    assert.deepEqual([claims(bearers.get(pageB)).aud].flat(), ["example-b"], "B holds its own app's token");
    await pageB.screenshot({ path: join(resultsDir, "sso-app-b.png"), fullPage: true });
  });

  test("reloading both tabs keeps both signed in, with no trip upstream and no login page", async () => {
    const trips = upstream.length;
    for (const [page, app, tenant] of [
      [pageA, appA, "example"],
      [pageB, appB, "example-b"],
    ]) {
      const before = authorizes.filter((q) => q.get("client_id") === tenant).length;
      visited.set(page, []);
      await page.reload();
      await page.waitForURL(app.origin + "/");
      await expectText(page.getByTestId("identity-name"), "Alice Admin");
      assert.equal(authorizes.filter((q) => q.get("client_id") === tenant).length, before + 1, `${tenant}: one silent sign-in`);
      assert.deepEqual(visited.get(page).filter((u) => /\/login/.test(new URL(u).pathname)), [], `${tenant}: never on the login page`);
      // Tokens in memory only: nothing a script could take from storage.
      const stored = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }));
      assert.doesNotMatch(stored, /refreshToken|eyJ/, `${tenant}: no token in Web Storage`);
    }
    assert.equal(upstream.length, trips, "no request reached the fake upstream");
  });

  test("signing out everywhere in A ends the broker's session and A's other tab; B's backend gets a back-channel logout and B's page is signed out", async () => {
    assert.ok((await silentAnswer(appB.origin, "example-b")).get("code"), "before: the broker's session answers B with a code");
    await pageB.getByRole("button", { name: "Load reports" }).click();
    await expectText(pageB.getByTestId("reports-status"), "ok");
    const sidB = claims(bearers.get(pageB)).sid;
    assert.ok(sidB);

    // A second tab of app A, given the session by the first.
    const pageA2 = await context.newPage();
    await pageA2.goto(appA.origin + "/");
    await expectText(pageA2.getByTestId("identity-name"), "Alice Admin");

    const logout = pageA.waitForResponse((r) => r.url() === `${broker.issuer}/auth/logout` && r.request().method() === "POST");
    await pageA.getByRole("button", { name: "Sign out everywhere" }).click();
    await pageA.waitForURL(/\/login/);
    await pageA2.waitForURL(/\/login\?reason=other-tab/); // A's other tab follows at once (BroadcastChannel)
    const res = await logout; // the tab signs out at once; the broker call follows
    assert.equal(res.status(), 200);
    assert.equal(JSON.parse(res.request().postData() ?? "{}").everywhere, true);

    // The broker's session is over: prompt=none for B answers login_required.
    assert.equal((await silentAnswer(appB.origin, "example-b")).get("error"), "login_required");
    // B's backend received a verified logout token for B's session.
    const got = await until("B's back-channel logout", () => appB.logouts.find((c) => c.aud === "example-b" && c.sid === sidB));
    assert.equal(got.iss, broker.issuer);
    // B's API refuses B's tokens from now on, without asking the broker.
    const api = await pageB.evaluate(async (t) => {
      const r = await fetch("/api/reports", { headers: { Authorization: `Bearer ${t}` } });
      return { status: r.status, body: await r.json() };
    }, bearers.get(pageB));
    assert.equal(api.status, 401);
    assert.match(api.body.error_description, /back-channel logout/);
    // The user comes back to B's tab: B checks its session and signs out.
    // (Headless Chromium keeps every tab visible; the test fires the event
    // a tab switch fires.)
    await pageB.evaluate(() => document.dispatchEvent(new Event("visibilitychange")));
    await pageB.waitForURL(/\/login\?reason=revoked/);
    await pageB.getByText("Your session was ended. Please sign in again.").waitFor();
    await pageB.screenshot({ path: join(resultsDir, "sso-app-b-signed-out.png") });
    // A reload of either app stays signed out: no loop, no trip upstream.
    const trips = upstream.length;
    for (const [page, app] of [
      [pageA, appA],
      [pageB, appB],
    ]) {
      await page.goto(app.origin + "/");
      await page.waitForURL(/\/login/);
      await page.getByRole("button", { name: "Sign in with GitHub" }).waitFor();
    }
    assert.equal(upstream.length, trips);
  });
});
