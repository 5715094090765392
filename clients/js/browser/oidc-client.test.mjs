// A browser OIDC library nobody here wrote, against the real broker:
// oidc-client-ts's UserManager on a page served from a tenant's origin
// signs in (authorization code + PKCE, metadata by discovery only), renews
// with its refresh token (signinSilent), and signs out (RP-initiated
// logout). Screenshots go to test-results/.
import assert from "node:assert/strict";
import { createPublicKey, verify } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import http from "node:http";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { jsRoot, launchChromium, resultsDir, startBroker } from "./harness.mjs";

const T = 15_000; // per-step timeout: CI shares two cores with the Go tests
const CLIENT_ID = "example"; // the demo tenant registered for --example-origin
const USER = { name: "Alice Admin", email: "alice@acme.test", upstreamSubject: "1001" };

/**
 * The app: one static page (browser/oidc-client-page) at /, /callback and
 * /login (the example tenant's redirect and post-logout URIs), the
 * library's own browser build, and /config.json naming the broker.
 */
async function startPage() {
  const dir = join(jsRoot, "browser", "oidc-client-page");
  const files = {
    "/app.js": join(dir, "app.js"),
    "/oidc-client-ts.js": join(jsRoot, "node_modules", "oidc-client-ts", "dist", "browser", "oidc-client-ts.min.js"),
  };
  const config = { authority: "", clientId: CLIENT_ID };
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://x").pathname;
    if (path === "/config.json") {
      res.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "no-store" });
      res.end(JSON.stringify(config));
    } else if (files[path]) {
      res.writeHead(200, { "Content-Type": "text/javascript; charset=utf-8" });
      res.end(readFileSync(files[path]));
    } else if (["/", "/callback", "/login"].includes(path)) {
      res.writeHead(200, { "Content-Type": "text/html; charset=utf-8" });
      res.end(readFileSync(join(dir, "index.html")));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return { origin: `http://127.0.0.1:${server.address().port}`, config, close: () => new Promise((r) => server.close(r)) };
}

let app;
let broker;
let browser;
let context;
let page;
const calls = []; // every browser request to the broker: { method, url, body }

before(async () => {
  mkdirSync(resultsDir, { recursive: true });
  app = await startPage();
  broker = await startBroker({ accessTTL: "2m", exampleOrigin: app.origin });
  app.config.authority = broker.issuer;
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1100, height: 900 } });
  context.setDefaultTimeout(T);
  context.on("request", (req) => {
    if (req.url().startsWith(broker.issuer + "/")) calls.push({ method: req.method(), url: new URL(req.url()), body: req.postData() ?? "" });
  });
  page = await context.newPage();
  page.on("pageerror", (err) => console.error("page error:", err));
});

after(async () => {
  await context?.close();
  await browser?.close();
  await broker?.close();
  await app?.close();
});

/** The user as oidc-client-ts keeps it (tokens, profile, scope). */
const currentUser = () => page.evaluate(async () => (await window.mgr.getUser())?.toStorageString() ?? null).then((s) => s && JSON.parse(s));

const text = (id) => page.getByTestId(id).textContent();

async function waitForStatus(re) {
  const status = page.getByRole("status");
  await status.filter({ hasText: re }).waitFor().catch(async () => assert.fail(`status is ${JSON.stringify(await status.textContent())}, want ${re}`));
}

/** POSTs to the broker's /token from outside the browser, as a form. */
async function tokenRequest(params) {
  const res = await fetch(`${broker.issuer}/token`, { method: "POST", body: new URLSearchParams(params) });
  return { status: res.status, body: await res.json() };
}

async function userinfo(accessToken) {
  const res = await fetch(`${broker.issuer}/userinfo`, { headers: { Authorization: `Bearer ${accessToken}` } });
  return { status: res.status, body: await res.json().catch(() => null) };
}

function decodeJWT(jwt) {
  const [h, p] = jwt.split(".");
  return { header: JSON.parse(Buffer.from(h, "base64url")), payload: JSON.parse(Buffer.from(p, "base64url")) };
}

/** Verifies a JWT's signature with the key the broker's JWKS publishes for its kid. */
async function verifiedByJWKS(jwt) {
  const { header } = decodeJWT(jwt);
  const meta = await (await fetch(`${broker.issuer}/.well-known/openid-configuration`)).json();
  const { keys } = await (await fetch(meta.jwks_uri)).json();
  const jwk = keys.find((k) => k.kid === header.kid);
  assert.ok(jwk, `the JWKS has no key ${header.kid}`);
  const [h, p, s] = jwt.split(".");
  const hash = { ES256: "sha256", RS256: "sha256", EdDSA: null }[header.alg];
  assert.notEqual(hash, undefined, `unexpected alg ${header.alg}`);
  return verify(hash, Buffer.from(`${h}.${p}`), { key: createPublicKey({ key: jwk, format: "jwk" }), dsaEncoding: "ieee-p1363" }, Buffer.from(s, "base64url"));
}

const tokenCalls = () => calls.filter((c) => c.method === "POST" && c.url.href === `${broker.issuer}/token`).map((c) => new URLSearchParams(c.body));

describe("oidc-client-ts on a tenant's page", { concurrency: false }, () => {
  let signedIn; // the user after the first sign-in
  let renewed; // the user after signinSilent

  test("signinRedirect: discovery, PKCE through the broker and fake Google, signinRedirectCallback", async () => {
    await page.goto(app.origin + "/");
    await waitForStatus(/^Signed out$/);
    await page.getByRole("button", { name: "Sign in" }).click();

    // The broker's hosted chooser (the tenant offers Google and GitHub), then the fake Google.
    await page.waitForURL((u) => u.href.startsWith(broker.issuer + "/"));
    await page.getByRole("link", { name: "Sign in with Google" }).click();
    await page.getByRole("link", { name: new RegExp(USER.name) }).click();
    await page.waitForURL(app.origin + "/");
    await waitForStatus(/^Signed in as /);

    // The library found the broker by discovery alone.
    assert.ok(calls.some((c) => c.url.href === `${broker.issuer}/.well-known/openid-configuration`), "the page fetched the discovery document");
    const authorize = calls.find((c) => c.url.pathname === "/authorize");
    assert.ok(authorize, "the library sent the browser to the discovered authorization_endpoint");
    const q = authorize.url.searchParams;
    assert.equal(q.get("client_id"), CLIENT_ID);
    assert.equal(q.get("redirect_uri"), app.origin + "/callback");
    assert.equal(q.get("response_type"), "code");
    assert.equal(q.get("code_challenge_method"), "S256");
    assert.match(q.get("code_challenge") ?? "", /^[A-Za-z0-9_-]{43}$/);
    assert.ok(q.get("nonce"));

    const [exchange] = tokenCalls();
    assert.equal(exchange?.get("grant_type"), "authorization_code");
    assert.ok(exchange.get("code_verifier"), "the code exchange proves PKCE");

    signedIn = await currentUser();
    assert.ok(signedIn, "oidc-client-ts stored a user");
    assert.ok(signedIn.access_token && signedIn.refresh_token && signedIn.id_token);
    assert.equal(signedIn.token_type, "Bearer");

    // The ID token: from this broker, for this app, about Alice, and
    // signed by a key the broker publishes (oidc-client-ts itself does not
    // check signatures).
    const id = decodeJWT(signedIn.id_token).payload;
    assert.equal(id.iss, broker.issuer);
    assert.deepEqual([id.aud].flat(), [CLIENT_ID]);
    assert.equal(id.nonce, q.get("nonce"), "the nonce the library sent came back in the ID token");
    assert.equal(id.email, USER.email);
    assert.equal(id.name, USER.name);
    assert.ok(id.sub && id.sub !== USER.upstreamSubject, "sub is the broker's own id, not Google's");
    assert.ok(await verifiedByJWKS(signedIn.id_token), "the ID token verifies with the broker's JWKS");

    // The profile the library exposes, and what the page shows.
    assert.equal(signedIn.profile.sub, id.sub);
    assert.equal(signedIn.profile.email, USER.email);
    assert.equal(signedIn.profile.email_verified, true);
    assert.equal(await text("sub"), id.sub);
    assert.equal(await text("email"), USER.email);
    assert.equal(await text("name"), USER.name);
    assert.equal(await text("iss"), broker.issuer);
  });

  test("the access token works at /userinfo, called from the page (CORS) and from outside", async () => {
    await page.getByRole("button", { name: "Call /userinfo" }).click();
    await waitForStatus(/^\/userinfo answered 200$/);
    const shown = await text("userinfo");
    const body = JSON.parse(shown.slice(shown.indexOf(" ") + 1));
    assert.equal(body.sub, signedIn.profile.sub);
    assert.equal(body.email, USER.email);

    const direct = await userinfo(signedIn.access_token);
    assert.equal(direct.status, 200);
    assert.deepEqual(direct.body, body);
    const at = decodeJWT(signedIn.access_token);
    assert.equal(at.header.typ, "at+jwt");
    assert.equal(at.payload.sub, signedIn.profile.sub);
    assert.ok(await verifiedByJWKS(signedIn.access_token));
  });

  test("signinSilent uses the refresh token: a new access token and a rotated refresh token", async () => {
    const before = tokenCalls().length;
    await page.getByRole("button", { name: "Renew (signinSilent)" }).click();
    await waitForStatus(/^Renewed: signed in as /);
    assert.equal(await text("renewals"), "1");

    const [refresh, ...more] = tokenCalls().slice(before);
    assert.equal(more.length, 0, "one token request");
    assert.equal(refresh?.get("grant_type"), "refresh_token", "signinSilent used the refresh_token grant (no iframe)");
    assert.equal(refresh.get("refresh_token"), signedIn.refresh_token);
    assert.equal(refresh.get("client_id"), CLIENT_ID);

    renewed = await currentUser();
    assert.notEqual(renewed.access_token, signedIn.access_token, "a new access token");
    assert.ok(renewed.refresh_token, "a refresh token came back");
    assert.notEqual(renewed.refresh_token, signedIn.refresh_token, "the refresh token was rotated");
    assert.equal(renewed.profile.sub, signedIn.profile.sub);
    assert.equal(renewed.profile.email, USER.email);
    assert.ok(renewed.expires_at >= signedIn.expires_at);
    assert.equal(decodeJWT(renewed.access_token).payload.sid, decodeJWT(signedIn.access_token).payload.sid, "the same session");

    const info = await userinfo(renewed.access_token);
    assert.equal(info.status, 200);
    assert.equal(info.body.sub, signedIn.profile.sub);
    await page.screenshot({ path: join(resultsDir, "oidc-client-renewed.png"), fullPage: true });
  });

  test("signoutRedirect: RP-initiated logout at end_session_endpoint, back on the post-logout URI; the session is over", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL((u) => u.origin === app.origin && u.pathname === "/login");
    await waitForStatus(/^Signed out \(state came back: \{"bye":"see you"\}\)$/);

    const meta = await (await fetch(`${broker.issuer}/.well-known/openid-configuration`)).json();
    const logout = calls.find((c) => c.url.href.startsWith(meta.end_session_endpoint + "?"));
    assert.ok(logout, "the library sent the browser to the discovered end_session_endpoint");
    assert.equal(logout.url.searchParams.get("id_token_hint"), renewed.id_token);
    assert.equal(logout.url.searchParams.get("post_logout_redirect_uri"), app.origin + "/login");
    assert.ok(logout.url.searchParams.get("state"));

    assert.equal(await currentUser(), null, "the library dropped the user");
    assert.equal(await text("sub"), "");
    await page.screenshot({ path: join(resultsDir, "oidc-client-signed-out.png"), fullPage: true });

    const r = await tokenRequest({ grant_type: "refresh_token", refresh_token: renewed.refresh_token, client_id: CLIENT_ID });
    assert.equal(r.status, 400);
    assert.equal(r.body.error, "invalid_grant", "the rotated refresh token died with the session");
    const info = await userinfo(renewed.access_token); // 200 after the renewal above
    assert.equal(info.status, 401, "the access token died with the session");
  });

  // With no refresh token left the library falls back to an iframe with
  // prompt=none: the broker must answer in the protocol (error=
  // login_required to the redirect URI), not with a page the iframe would
  // wait on until its timeout.
  test("signed out, signinSilent asks the broker with prompt=none (iframe) and hears login_required", async () => {
    const before = calls.length;
    await page.getByRole("button", { name: "Renew (signinSilent)" }).click();
    await waitForStatus(/^Renewing failed: /);
    assert.match(await page.getByRole("status").textContent(), /login_required/);
    const authorize = calls.slice(before).find((c) => c.url.pathname === "/authorize");
    assert.ok(authorize, "with no user to refresh, the library asked the authorization endpoint");
    assert.equal(authorize.url.searchParams.get("prompt"), "none");
    assert.equal(authorize.url.searchParams.get("client_id"), CLIENT_ID);
    assert.equal(await currentUser(), null);
    await page.screenshot({ path: join(resultsDir, "oidc-client-silent-refused.png"), fullPage: true });
  });
});
