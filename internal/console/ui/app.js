// The console's shell: sign-in, navigation, and the router (#/page/id).
import { h, clear, toast } from './dom.js';
import { finishSignIn, accessToken, operator, signOut, base } from './auth.js';
import { get, APIError } from './api.js';
import * as tenants from './pages/tenants.js';
import * as connections from './pages/connections.js';
import * as users from './pages/users.js';
import * as audit from './pages/audit.js';
import * as keys from './pages/keys.js';

const sections = [
  ['tenants', 'Tenants', tenants],
  ['connections', 'Connections', connections],
  ['users', 'Users', users],
  ['audit', 'Audit log', audit],
  ['keys', 'API keys', keys],
];

const app = document.getElementById('app');

function shell() {
  const who = operator();
  const nav = h('nav', { class: 'sidebar', 'aria-label': 'Console' },
    h('a', { class: 'brand', href: '#/tenants' }, h('span', { class: 'logo', 'aria-hidden': 'true' }, 'b'), 'Broker console'),
    h('ul', {}, sections.map(([id, label]) => h('li', {}, h('a', { href: '#/' + id, dataset: { section: id } }, label)))),
    h('div', { class: 'sidebar-foot' },
      h('a', { href: base + '/admin/v1/openapi.json', class: 'muted small' }, 'API reference (OpenAPI)')));
  const top = h('header', { class: 'topbar' },
    h('span', { class: 'who' }, h('span', { class: 'muted' }, 'Signed in as '), h('strong', { class: 'who-email' }, who.email || who.sub || 'operator')),
    h('button', { type: 'button', class: 'btn btn-small', onClick: signOut }, 'Sign out'));
  const main = h('main', { id: 'main', class: 'content', tabindex: '-1' });
  app.className = 'app';
  clear(app, nav, h('div', { class: 'main-col' }, top, main));
  app.removeAttribute('aria-busy');
  return main;
}

function noAccess() {
  const who = operator();
  app.className = 'solo';
  clear(app, h('main', { id: 'main', class: 'center' }, h('div', { class: 'card narrow' },
    h('h1', {}, 'No access to the console'),
    h('p', {}, 'You are signed in as ', h('strong', {}, who.email || who.sub || 'an unknown account'),
      ', but this account is not an operator of this broker.'),
    h('p', { class: 'muted' }, 'An operator can let you in by adding your email to ', h('code', {}, '[admin] console_admins'),
      ' in config.toml, or to the console role of the ', h('code', {}, 'broker-console'), ' tenant.'),
    h('div', { class: 'actions' }, h('button', { type: 'button', class: 'btn btn-primary', onClick: signOut }, 'Sign in as someone else')))));
  app.removeAttribute('aria-busy');
  document.title = 'No access · Broker console';
}

function failure(message) {
  app.className = 'solo';
  clear(app, h('main', { id: 'main', class: 'center' }, h('div', { class: 'card narrow' },
    h('h1', {}, 'Sign-in failed'), h('p', {}, message),
    h('div', { class: 'actions' }, h('a', { class: 'btn btn-primary', href: base + '/admin/' }, 'Try again')))));
  app.removeAttribute('aria-busy');
}

let main;
let rendering = 0;

async function route() {
  // #/section/id, with the section's own ?query after it.
  const [, section = 'tenants', ...rest] = (location.hash || '#/tenants').split('?')[0].split('/');
  const entry = sections.find(([id]) => id === section) || sections[0];
  for (const a of document.querySelectorAll('.sidebar a[data-section]')) {
    if (a.dataset.section === entry[0]) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  const mine = ++rendering;
  const view = h('div', { class: 'view' });
  try {
    await entry[2].render(view, rest.map(decodeURIComponent));
  } catch (err) {
    if (err instanceof APIError && err.code === 'not_console_admin') return noAccess();
    clear(view, h('div', { class: 'alert', role: 'alert' }, err.message));
  }
  if (mine !== rendering) return; // a later navigation won
  clear(main, view);
  document.title = (view.querySelector('h1')?.textContent || entry[1]) + ' · Broker console';
  view.querySelector('h1')?.focus({ preventScroll: true });
}

async function boot() {
  let hash = location.hash;
  if (location.pathname.endsWith('/admin/callback')) {
    try {
      hash = await finishSignIn();
    } catch (err) {
      history.replaceState(null, '', base + '/admin/');
      return failure(err.message);
    }
    history.replaceState(null, '', base + '/admin/' + hash);
  }
  await accessToken();
  try {
    await get('/tenants?limit=1'); // are we an operator?
  } catch (err) {
    if (err instanceof APIError && err.code === 'not_console_admin') return noAccess();
    toast(err.message, 'error');
  }
  main = shell();
  window.addEventListener('hashchange', route);
  route();
}

boot();
