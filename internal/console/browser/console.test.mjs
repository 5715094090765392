// The admin console in a real Chromium against a real broker (started by
// console_browser_test.go, which passes its URLs in the environment).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const env = (k) => { const v = process.env[k]; if (!v) throw new Error(`${k} is not set: run this through go test ./internal/console`); return v; };
const BROKER = env('BROKER_URL'), CONTROL = env('CONTROL_URL');
const here = fileURLToPath(new URL('.', import.meta.url));
const results = join(here, 'test-results');
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

const DESKTOP = { width: 1280, height: 860 };
const PHONE = { width: 390, height: 844 };

let browser;
const shots = [];
const cspViolations = [];

before(async () => {
  rmSync(results, { recursive: true, force: true });
  mkdirSync(results, { recursive: true });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium', headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
  });
});
after(async () => {
  await browser?.close();
  console.log(`# screenshots ${shots.length} in ${results}`);
});

async function newPage(viewport = DESKTOP) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text()); });
  page.on('pageerror', (e) => cspViolations.push('page error: ' + e.message));
  page.on('console', (m) => console.log(`# browser ${m.type()}: ${m.text()}`));
  return page;
}

async function shot(page, name) {
  await page.evaluate(() => document.getElementById('toasts')?.replaceChildren()).catch(() => {});
  const file = join(results, name + '.png');
  await page.screenshot({ path: file, fullPage: true });
  shots.push(file);
}

// axe checks the page as it is; serious and critical violations fail.
// It is evaluated through the DevTools protocol, which the page's CSP
// (script-src 'self') does not govern.
async function axe(page, what) {
  await page.evaluate(axeSource);
  const r = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad.map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`), [], `accessibility of ${what}`);
}

// signIn goes through the broker's hosted page and the fake Google's
// chooser as a person would.
async function signInToConsole(page, who) {
  await page.goto(BROKER + '/admin/');
  await page.waitForURL(/\/authorize|FAKE|login_as|\/auth\//, { timeout: 10_000 }).catch(() => {});
  const google = page.getByRole('link', { name: /Google/ });
  if (await google.count()) await google.first().click();
  await page.getByRole('link', { name: new RegExp(who) }).click();
  await page.waitForURL(/\/admin\/#/);
}

let page; // the operator's

// bearerOf returns the Authorization header the page sends to the admin
// API next (it navigates to the users page to make it send one).
async function bearerOf(p) {
  const seen = new Promise((resolve) => p.on('request', (r) => { const a = r.headers().authorization; if (a && r.url().includes('/admin/v1/')) resolve(a); }));
  await p.goto(BROKER + '/admin/#/keys');
  return seen;
}
let txt;

test('an operator signs in through the broker', async () => {
  page = await newPage();
  await signInToConsole(page, 'Alice Operator');
  await page.getByRole('heading', { level: 1, name: 'Tenants' }).waitFor().catch(async (e) => {
    console.log('# page: ' + page.url() + '\n' + (await page.locator('body').innerText()));
    await shot(page, 'failure');
    throw e;
  });
  await assert.doesNotReject(page.getByText('alice@ops.test').first().waitFor());
  // The built-in tenant is there, and the app from config.toml.
  await page.locator('tbody').getByRole('link', { name: 'Intranet' }).waitFor();
  await page.locator('tbody').getByRole('link', { name: 'Broker console' }).waitFor();
  await shot(page, 'tenants-desktop');
  await axe(page, 'the tenants page');
});

test('the operator creates a tenant', async () => {
  await page.getByRole('link', { name: 'Create tenant' }).first().click();
  await page.getByRole('heading', { level: 1, name: 'Create tenant' }).waitFor();
  await axe(page, 'the tenant form');
  await page.getByLabel('Client ID', { exact: true }).fill('shop');
  await page.getByLabel('Name', { exact: true }).fill('Shop');
  await page.getByLabel('Redirect URIs', { exact: true }).fill(CONTROL + '/app/callback');
  await page.getByLabel('Roles (JSON)', { exact: true }).fill('[{"role": "customer", "everyone": true}]');
  // A bad form first: no provider. The API's problem shows at its field.
  await page.getByRole('button', { name: 'Create tenant' }).click();
  await page.locator('.field[data-field="providers"] .field-error').waitFor();
  await shot(page, 'tenant-form-problems-desktop');
  await page.getByLabel(/^Google/).check();
  await page.getByRole('button', { name: 'Create tenant' }).click();
  await page.getByRole('heading', { level: 1, name: 'Shop' }).waitFor();
  await shot(page, 'tenant-shop-desktop');
  await axe(page, 'a tenant page');
});

test('a confidential tenant: its secret shown once, rotated, then the tenant deleted after typing its id', async () => {
  await page.goto(BROKER + '/admin/#/tenants/new');
  await page.getByRole('heading', { level: 1, name: 'Create tenant' }).waitFor();
  await page.getByLabel('Client ID', { exact: true }).fill('backend');
  await page.getByLabel('Redirect URIs', { exact: true }).fill('https://backend.example/callback');
  await page.getByLabel(/^Confidential/).check();
  await page.getByLabel(/^Google/).check();
  await page.getByRole('button', { name: 'Create tenant' }).click();
  const first = await page.getByRole('dialog').getByLabel('Client secret').inputValue();
  assert.match(first, /^[A-Za-z0-9_-]{43}$/);
  await shot(page, 'tenant-secret-desktop');
  await page.getByRole('button', { name: 'I have copied it' }).click();
  await page.getByRole('heading', { level: 1, name: 'backend' }).waitFor();
  await page.getByRole('button', { name: 'Rotate secret' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Rotate secret' }).click();
  const second = await page.getByRole('dialog').getByLabel('Client secret').inputValue();
  assert.match(second, /^[A-Za-z0-9_-]{43}$/);
  assert.notEqual(second, first);
  await page.getByRole('button', { name: 'I have copied it' }).click();
  // The list's search finds it.
  await page.getByRole('link', { name: 'Tenants', exact: true }).first().click();
  await page.getByLabel('Search tenants').fill('back');
  await page.waitForFunction(() => document.querySelectorAll('tbody tr').length === 1);
  await page.locator('tbody').getByRole('link', { name: 'backend' }).click();
  await page.getByRole('button', { name: 'Delete' }).click();
  const confirm = page.getByRole('dialog').getByRole('button', { name: 'Delete tenant' });
  assert.ok(await confirm.isDisabled(), 'deleting waits for the id to be typed');
  await page.getByRole('dialog').getByLabel('Type backend to confirm').fill('backend');
  await confirm.click();
  await page.getByRole('heading', { level: 1, name: 'Tenants' }).waitFor();
  await page.getByText('Tenant backend deleted').waitFor();
  assert.equal(await page.locator('tbody').getByRole('link', { name: 'backend' }).count(), 0);
});

test('the operator creates a connection owned by the tenant and tests it', async () => {
  await page.getByRole('link', { name: 'Connections', exact: true }).click();
  await page.getByRole('heading', { level: 1, name: 'Connections' }).waitFor();
  await shot(page, 'connections-desktop');
  await axe(page, 'the connections page');
  await page.getByRole('link', { name: 'Create connection' }).first().click();
  await page.getByLabel('Type', { exact: true }).selectOption('oidc');
  await page.getByLabel('Connection ID', { exact: true }).fill('acme');
  await page.getByLabel('Usable by', { exact: true }).selectOption('shop');
  await page.getByLabel('Client ID', { exact: true }).fill(env('ACME_CLIENT_ID'));
  await page.getByLabel('Client secret', { exact: true }).fill(env('ACME_CLIENT_SECRET'));
  await page.getByLabel('Issuer URL', { exact: true }).fill(env('ACME_ISSUER'));
  await page.getByLabel('Trust its verified emails', { exact: true }).selectOption('true');
  await page.getByLabel('Display name', { exact: true }).fill('Acme SSO');
  await shot(page, 'connection-form-desktop');
  await axe(page, 'the connection form');
  await page.getByRole('button', { name: 'Create connection' }).click();
  await page.getByRole('heading', { level: 1, name: 'Acme SSO' }).waitFor();
  await page.getByRole('button', { name: 'Test connection' }).click();
  await page.getByRole('heading', { name: 'Discovery works' }).waitFor();
  await page.getByText(env('ACME_ISSUER') + '/token').first().waitFor();
});

test('the operator claims a domain and verifies it against DNS', async () => {
  await page.getByLabel('Domain', { exact: true }).fill('acme.test');
  await page.getByRole('button', { name: 'Add domain' }).click();
  await page.getByRole('button', { name: 'Verify acme.test' }).waitFor();
  // Not published yet: verification says so.
  await page.getByRole('button', { name: 'Verify acme.test' }).click();
  await page.getByText('No matching TXT record for acme.test yet').waitFor();
  txt = { name: await page.locator('.txt-name').innerText(), value: await page.locator('.txt-value').innerText() };
  assert.equal(txt.name, '_broker-verify.acme.test');
  await shot(page, 'connection-acme-desktop');
  await axe(page, 'a connection page');
  const r = await fetch(CONTROL + '/dns', { method: 'POST', body: JSON.stringify(txt) });
  assert.equal(r.status, 204);
  await page.getByRole('button', { name: 'Verify acme.test' }).click();
  await page.locator('.domain.verified').getByText(/^Verified/).waitFor();
  await shot(page, 'connection-acme-verified-desktop');
});

test('the operator adds the connection to the tenant', async () => {
  await page.goto(BROKER + '/admin/#/tenants/shop');
  await page.getByRole('heading', { level: 1, name: 'Shop' }).waitFor();
  await page.getByLabel(/^Acme SSO/).check();
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.getByText('Saved').waitFor();
});

let carolID;

test('a user signs in to the new tenant through the verified domain (second browser context)', async () => {
  const user = await newPage();
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const redirect = CONTROL + '/app/callback';
  const q = new URLSearchParams({ response_type: 'code', client_id: 'shop', redirect_uri: redirect, scope: 'openid email profile',
    code_challenge: challenge, code_challenge_method: 'S256', state: 'st4te' });
  await user.goto(BROKER + '/authorize?' + q);
  // The hosted page offers Google and Acme SSO, and the work-email box:
  // carol's domain sends her to Acme's IdP.
  await user.getByRole('link', { name: /Acme SSO/ }).waitFor();
  await user.getByLabel(/email/i).fill('carol@acme.test');
  await user.getByLabel(/email/i).press('Enter');
  await user.getByText('FAKE Acme SSO').first().waitFor();
  await user.getByRole('link', { name: /Carol Customer/ }).click();
  await user.waitForURL(redirect + '?**');
  const back = new URL(user.url());
  assert.equal(back.searchParams.get('state'), 'st4te');
  const tok = await fetch(BROKER + '/token', { method: 'POST', body: new URLSearchParams({
    grant_type: 'authorization_code', code: back.searchParams.get('code'), redirect_uri: redirect, client_id: 'shop', code_verifier: verifier }) });
  const body = await tok.json();
  assert.equal(tok.status, 200, JSON.stringify(body));
  assert.ok(body.access_token);
  await user.context().close();
});

test('the operator finds the user and disables them', async () => {
  await page.getByRole('link', { name: 'Users', exact: true }).click();
  await page.getByRole('heading', { level: 1, name: 'Users' }).waitFor();
  await page.getByLabel('Email', { exact: true }).fill('carol@acme.test');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByRole('link', { name: 'Carol Customer' }).click();
  await page.getByRole('heading', { level: 1, name: 'Carol Customer' }).waitFor();
  carolID = decodeURIComponent(page.url().split('#/users/')[1]);
  await page.locator('td', { hasText: 'acme' }).first().waitFor(); // identity
  await page.getByRole('link', { name: 'shop' }).first().waitFor(); // session
  await shot(page, 'user-carol-desktop');
  await axe(page, 'a user page');
  await page.getByRole('button', { name: 'Disable user' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Disable user' }).click();
  await page.getByText('Disabled', { exact: true }).first().waitFor();
  await page.getByRole('button', { name: 'Enable user' }).waitFor();
  await page.getByText('None: the user is disabled.').waitFor();
});

test('the audit log tells the story, newest first', async () => {
  await page.getByRole('link', { name: 'Audit log' }).click();
  await page.getByRole('heading', { level: 1, name: 'Audit log' }).waitFor();
  await page.locator('tbody tr').first().waitFor();
  const rows = await page.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((c) => c.innerText.trim())));
  const story = rows.map((r) => `${r[1]}|${r[2]}|${r[3]}`);
  const want = ['user.disabled|alice@ops.test|—', 'login.succeeded|—|shop', 'tenant.updated|alice@ops.test|shop', 'domain.verified|alice@ops.test|shop',
    'domain.created|alice@ops.test|shop', 'connection.created|alice@ops.test|shop', 'tenant.created|alice@ops.test|shop'];
  // Each in this order (newest first), with other events between allowed.
  let at = 0;
  for (const s of story) if (at < want.length && s.startsWith(want[at].split('|')[0]) && s === want[at]) at++;
  assert.equal(at, want.length, 'audit story:\n' + story.join('\n'));
  assert.ok(rows.some((r) => r[4] === carolID), 'carol is named in the log');
  await shot(page, 'audit-desktop');
  await axe(page, 'the audit log');
  // Pages of 10, newest first: the second page goes on where the first ended.
  await page.getByLabel('Per page', { exact: true }).selectOption('10');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.waitForFunction(() => document.querySelectorAll('tbody tr').length === 10);
  const firstPage = await page.locator('tbody tr td:first-child').allInnerTexts();
  await page.getByRole('button', { name: 'Older' }).click();
  await page.getByText('Page 2').waitFor();
  const secondRows = await page.locator('tbody tr').evaluateAll((trs) => trs.map((tr) => tr.cells[1].innerText.trim()));
  assert.ok(secondRows.length > 0 && secondRows.length <= 10);
  // The oldest event of all is the operator's own first sign-in.
  assert.equal(secondRows.at(-1), 'login.succeeded', 'page 2: ' + secondRows);
  await page.getByRole('button', { name: 'Newer' }).click();
  await page.getByText('Page 1').waitFor();
  assert.deepEqual(await page.locator('tbody tr td:first-child').allInnerTexts(), firstPage);
  // The filters live in the address: a reload keeps them.
  await page.reload();
  await page.getByRole('heading', { level: 1, name: 'Audit log' }).waitFor();
  assert.equal(await page.getByLabel('Per page', { exact: true }).inputValue(), '10');
  // Filter by type.
  await page.getByLabel('Type', { exact: true }).selectOption('user.disabled');
  await page.getByRole('button', { name: 'Filter' }).click();
  await page.waitForFunction(() => [...document.querySelectorAll('tbody tr')].every((tr) => tr.cells[1].innerText.trim() === 'user.disabled'));
});

test('the operator makes and revokes an API key', async () => {
  await page.getByRole('link', { name: 'API keys' }).click();
  await page.getByRole('heading', { level: 1, name: 'API keys' }).waitFor();
  await page.getByLabel('Key name', { exact: true }).fill('ci-audit');
  await page.getByLabel(/Read the audit log/).check();
  await page.getByRole('button', { name: 'Create key' }).click();
  const secret = page.getByRole('dialog').getByLabel('API key', { exact: true });
  await secret.waitFor();
  const key = await secret.inputValue();
  assert.match(key, /^bk_[a-z2-7]{16}_[A-Za-z0-9_-]{43}$/);
  await shot(page, 'key-created-desktop');
  await axe(page, 'the key dialog');
  await page.getByRole('button', { name: 'I have copied it' }).click();
  // The key works, with its scope.
  const r = await fetch(BROKER + '/admin/v1/audit?limit=1', { headers: { Authorization: 'Bearer ' + key } });
  assert.equal(r.status, 200);
  await page.getByRole('button', { name: 'Revoke ci-audit' }).click();
  await page.getByRole('dialog').getByRole('button', { name: 'Revoke key' }).click();
  await page.getByText(/^Revoked/).waitFor();
  assert.equal((await fetch(BROKER + '/admin/v1/audit?limit=1', { headers: { Authorization: 'Bearer ' + key } })).status, 401);
  await shot(page, 'keys-desktop');
  await axe(page, 'the keys page');
});

test('every page reads at phone width', async () => {
  await page.setViewportSize(PHONE);
  for (const [route, name, h1] of [['#/tenants', 'tenants', 'Tenants'], ['#/tenants/shop', 'tenant-shop', 'Shop'], ['#/connections', 'connections', 'Connections'],
    ['#/connections/acme', 'connection-acme', 'Acme SSO'], ['#/users/' + encodeURIComponent(carolID), 'user-carol', 'Carol Customer'],
    ['#/audit', 'audit', 'Audit log'], ['#/keys', 'keys', 'API keys']]) {
    await page.goto(BROKER + '/admin/' + route);
    await page.getByRole('heading', { level: 1, name: h1 }).waitFor();
    // Nothing wider than the screen but what scrolls inside its table.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `${route} is ${overflow}px wider than a phone`);
    await shot(page, name + '-phone');
    await axe(page, route + ' at phone width');
  }
  await page.setViewportSize(DESKTOP);
  // And in the dark, for those whose system asks for it.
  await page.emulateMedia({ colorScheme: 'dark' });
  for (const [route, name, h1] of [['#/tenants/shop', 'tenant-shop', 'Shop'], ['#/audit', 'audit', 'Audit log']]) {
    await page.goto(BROKER + '/admin/' + route);
    await page.getByRole('heading', { level: 1, name: h1 }).waitFor();
    await shot(page, name + '-dark');
    await axe(page, route + ' in dark mode');
  }
  await page.emulateMedia({ colorScheme: 'light' });
});

test('the operator edits a connection; its secret stays unless replaced', async () => {
  await page.goto(BROKER + '/admin/#/connections/acme');
  await page.getByRole('link', { name: 'Edit' }).click();
  await page.getByRole('heading', { level: 1, name: 'Edit Acme SSO' }).waitFor();
  assert.equal(await page.getByLabel('Client secret', { exact: true }).inputValue(), '', 'a secret is never shown');
  assert.equal(await page.getByLabel('Issuer URL', { exact: true }).inputValue(), env('ACME_ISSUER'));
  await page.getByLabel('Display name', { exact: true }).fill('Acme Corp SSO');
  await shot(page, 'connection-edit-desktop');
  await axe(page, 'the connection edit form');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.getByRole('heading', { level: 1, name: 'Acme Corp SSO' }).waitFor();
  await page.getByText('client_secret', { exact: true }).waitFor(); // still set
  await page.getByRole('button', { name: 'Test connection' }).click();
  await page.getByRole('heading', { name: 'Discovery works' }).waitFor();
});

test('the operator enables the user again, then deletes them after confirming', async () => {
  await page.goto(BROKER + '/admin/#/users/' + encodeURIComponent(carolID));
  await page.getByRole('heading', { level: 1, name: 'Carol Customer' }).waitFor();
  await page.getByRole('button', { name: 'Enable user' }).click();
  await page.getByRole('button', { name: 'Disable user' }).waitFor();
  await page.getByText('Active', { exact: true }).first().waitFor();
  await page.getByRole('button', { name: 'Delete' }).click();
  await page.getByRole('dialog').getByLabel('Type delete to confirm').fill('delete');
  await page.getByRole('dialog').getByRole('button', { name: 'Delete user' }).click();
  await page.getByRole('heading', { level: 1, name: 'Users' }).waitFor();
  await page.getByLabel('Email', { exact: true }).fill('carol@acme.test');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByRole('heading', { name: 'No user matches' }).waitFor();
  const r = await fetch(BROKER + '/admin/v1/audit?type=user.deleted', { headers: { Authorization: await bearerOf(page) } });
  const events = (await r.json()).items;
  assert.equal(events[0]?.user, carolID);
  assert.equal(events[0]?.actor, 'alice@ops.test');
});

test('the console works by keyboard', async () => {
  await page.goto(BROKER + '/admin/#/tenants');
  await page.getByRole('heading', { level: 1, name: 'Tenants' }).waitFor();
  // Each page puts the focus on its heading; the next stop is its action.
  assert.equal(await page.evaluate(() => document.activeElement.tagName), 'H1');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Create tenant');
  // Back through the top bar to the sidebar, and follow a link with Enter.
  for (let i = 0; i < 10 && !(await page.evaluate(() => document.activeElement.textContent === 'Connections')); i++) await page.keyboard.press('Shift+Tab');
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { level: 1, name: 'Connections' }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Connections', 'focus moves to the new page\'s heading');
  // A dialog traps the focus and Escape closes it.
  await page.goto(BROKER + '/admin/#/tenants/shop');
  await page.getByRole('heading', { level: 1, name: 'Shop' }).waitFor();
  await page.getByRole('button', { name: 'Delete' }).focus();
  await page.keyboard.press('Enter');
  await page.getByRole('dialog').waitFor();
  await page.keyboard.press('Escape');
  await page.getByRole('dialog').waitFor({ state: 'detached' });
  await page.getByRole('heading', { level: 1, name: 'Shop' }).waitFor();
});

test('a reload keeps the operator signed in without a redirect, through the refresh cookie', async () => {
  const seen = [];
  page.on('request', (r) => seen.push(new URL(r.url()).pathname));
  await page.reload();
  await page.getByRole('heading', { level: 1, name: 'Shop' }).waitFor();
  assert.ok(seen.includes('/auth/refresh'), 'the page refreshed its access token: ' + seen.join(' '));
  assert.ok(!seen.includes('/authorize'), 'no new sign-in');
  // The page's script can read no refresh token: it is an HttpOnly cookie.
  const cookies = await page.context().cookies();
  assert.ok(cookies.length > 0 && cookies.every((c) => c.httpOnly), 'cookies: ' + JSON.stringify(cookies.map((c) => [c.name, c.httpOnly])));
  assert.equal(await page.evaluate(() => document.cookie), '');
});

test('a sign-in refused at the provider shows why, and a way back', async () => {
  const p = await newPage();
  await p.goto(BROKER + '/admin/');
  await p.getByRole('link', { name: /Cancel/ }).click();
  await p.getByRole('heading', { level: 1, name: 'Sign-in failed' }).waitFor();
  await p.getByRole('link', { name: 'Try again' }).waitFor();
  await shot(p, 'signin-failed-desktop');
  await axe(p, 'the sign-in-failed page');
  await p.context().close();
});

test('someone who is not an operator is refused', async () => {
  const outsider = await newPage();
  await signInToConsole(outsider, 'Bob Outsider').catch(() => {});
  await outsider.getByRole('heading', { level: 1, name: 'No access to the console' }).waitFor();
  await outsider.getByText('bob@ops.test').waitFor();
  await shot(outsider, 'no-access-desktop');
  await axe(outsider, 'the no-access page');
  await outsider.setViewportSize(PHONE);
  await shot(outsider, 'no-access-phone');
  // And the API refuses the outsider's token too: the page holds only a
  // short-lived access token, never a key.
  await outsider.context().close();
});

test('signing out ends the session: the console asks to sign in again', async () => {
  // The access token the page used until now: it works, and after the
  // sign-out it no longer does.
  const used = new Promise((resolve) => page.on('request', (r) => { const a = r.headers().authorization; if (a && r.url().includes('/admin/v1/')) resolve(a); }));
  await page.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Users' }).click();
  const bearer = await used;
  assert.equal((await fetch(BROKER + '/admin/v1/tenants', { headers: { Authorization: bearer } })).status, 200);
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(/\/authorize\?|FAKE|login_as/);
  const after = await fetch(BROKER + '/admin/v1/tenants', { headers: { Authorization: bearer } });
  assert.equal(after.status, 401, 'the signed-out operator\'s token: ' + (await after.text()));
});

test('broker demo: its page leads to the console, where Alice is an operator', async () => {
  const p = await newPage();
  await p.goto(env('DEMO_URL'));
  await p.getByRole('link', { name: 'Open the admin console' }).click();
  await p.getByRole('link', { name: /Google/ }).first().click();
  await p.getByRole('link', { name: /Alice Admin/ }).click();
  await p.getByRole('heading', { level: 1, name: 'Tenants' }).waitFor();
  await p.getByText('alice@acme.test').first().waitFor();
  await p.locator('tbody').getByRole('link', { name: 'Broker Demo' }).waitFor();
  await shot(p, 'demo-console-desktop');
  await p.context().close();
});

test('no page broke its Content-Security-Policy', () => {
  assert.deepEqual(cspViolations, []);
});
