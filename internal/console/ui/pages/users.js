// Users: the broker's accounts, their identities and sessions.
import { h, clear, field, input, select, showProblems, toast, confirmDialog, emptyState, badge, pageHeader, table, fmtTime, go } from '../dom.js';
import { api, get, all, enc } from '../api.js';

export async function render(view, [id]) {
  if (id) return detail(view, id);
  return search(view);
}

async function search(view) {
  const params = new URLSearchParams(location.hash.split('?')[1] || '');
  const tenants = await all('/tenants');
  const email = input('email', { type: 'search', value: params.get('email') || '', placeholder: 'alice@acme.com', autocomplete: 'off', inputmode: 'email' });
  const tenant = select('tenant', [['', 'Any tenant'], ...tenants.map((t) => [t.id, t.name || t.id])], params.get('tenant') || '');
  const banner = h('div', { class: 'form-error alert', role: 'alert', tabindex: '-1', hidden: true });
  const form = h('form', { class: 'toolbar', role: 'search', novalidate: true }, banner,
    field('Email', email, { name: 'email' }), field('Signed in to', tenant, { name: 'tenant' }),
    h('button', { type: 'submit', class: 'btn btn-primary' }, 'Search'));
  const results = h('div', { class: 'results' });
  const userRow = (u) => h('tr', {},
        h('td', {}, h('a', { href: '#/users/' + enc(u.id), class: 'strong' }, u.name || u.username || u.email || u.id), h('div', { class: 'muted mono small' }, u.id)),
        h('td', {}, u.email || '—', u.email && !u.email_verified ? h('span', { class: 'muted small' }, ' (unverified)') : ''),
        h('td', {}, u.disabled ? badge('Disabled', 'bad') : badge('Active', 'ok')),
        h('td', {}, fmtTime(u.created_at)));
  const run = async () => {
    const q = new URLSearchParams();
    if (email.value.trim()) q.set('email', email.value.trim());
    if (tenant.value) q.set('tenant', tenant.value);
    try {
      const page = await get('/users?limit=50&' + q);
      if (!page.items.length) {
        clear(results, emptyState(q.toString() ? 'No user matches' : 'No users yet',
          q.toString() ? 'The email search is exact: type the whole address.' : 'Users appear here after their first sign-in to one of your tenants.'));
        return;
      }
      const t = table(['User', 'Email', 'Status', 'Since'], page.items.map(userRow), { caption: 'Users found' });
      clear(results, t);
      // More pages on demand, appended below.
      let cursor = page.next_cursor;
      if (cursor) {
        const more = h('button', { type: 'button', class: 'btn', onClick: async () => {
          more.disabled = true;
          try {
            const next = await get('/users?limit=50&' + q + '&cursor=' + encodeURIComponent(cursor));
            const rows = table(['User', 'Email', 'Status', 'Since'], next.items.map(userRow)).querySelectorAll('tbody tr');
            t.querySelector('tbody').append(...rows);
            cursor = next.next_cursor;
            if (!cursor) more.remove();
          } catch (err) { showProblems(form, err); }
          more.disabled = false;
        } }, 'Show more users');
        results.append(h('div', { class: 'pager' }, more));
      }
    } catch (err) { showProblems(form, err); }
  };
  form.addEventListener('submit', (ev) => { ev.preventDefault(); history.replaceState(null, '', '#/users?' + new URLSearchParams({ email: email.value.trim(), tenant: tenant.value })); run(); });
  view.append(pageHeader('Users', 'Everyone who signed in through the broker: find one by email to see their identities and sessions.'), form, results);
  await run();
}

async function detail(view, id) {
  const u = await get('/users/' + enc(id));
  const toggle = h('button', { type: 'button', class: u.disabled ? 'btn btn-primary' : 'btn btn-warn', onClick: async () => {
    if (!u.disabled && !await confirmDialog({ title: 'Disable ' + (u.email || u.id) + '?', body: 'Their sessions end at once and they cannot sign in until enabled again.', action: 'Disable user' })) return;
    try { await api('PATCH', '/users/' + enc(id), { disabled: !u.disabled }); toast(u.disabled ? 'User enabled' : 'User disabled'); go('#/users/' + enc(id)); } catch (err) { toast(err.message, 'error'); }
  } }, u.disabled ? 'Enable user' : 'Disable user');
  const del = h('button', { type: 'button', class: 'btn btn-danger', onClick: async () => {
    if (!await confirmDialog({ title: 'Delete ' + (u.email || u.id) + '?', body: 'The account, its identities and sessions are gone; signing in again makes a new account. This cannot be undone.', action: 'Delete user', typeToConfirm: 'delete' })) return;
    try { await api('DELETE', '/users/' + enc(id)); toast('User deleted'); go('#/users'); } catch (err) { toast(err.message, 'error'); }
  } }, 'Delete');
  view.append(h('p', { class: 'crumbs' }, h('a', { href: '#/users' }, 'Users'), ' / '),
    pageHeader(u.name || u.email || u.id, null, toggle, del),
    h('section', { class: 'card' }, h('h2', {}, 'Profile'), h('dl', { class: 'facts' },
      h('dt', {}, 'Status'), h('dd', {}, u.disabled ? badge('Disabled', 'bad') : badge('Active', 'ok')),
      h('dt', {}, 'Email'), h('dd', {}, u.email || '—', u.email ? (u.email_verified ? ' (verified)' : ' (unverified)') : ''),
      h('dt', {}, 'User id (sub)'), h('dd', { class: 'mono' }, u.id),
      u.username ? [h('dt', {}, 'Username'), h('dd', {}, u.username)] : '',
      h('dt', {}, 'Created'), h('dd', {}, fmtTime(u.created_at)))),
    h('section', { class: 'card' }, h('h2', {}, 'Identities'),
      u.identities.length ? table(['Provider', 'Upstream subject', 'Email'], u.identities.map((i) => h('tr', {},
        h('td', {}, i.provider), h('td', { class: 'mono' }, i.subject), h('td', {}, i.email || '—', i.email_verified ? '' : i.email ? ' (unverified)' : ''))), { caption: 'Identities' })
        : h('p', { class: 'muted' }, 'None.')),
    h('section', { class: 'card' }, h('h2', {}, 'Live sessions'),
      u.sessions.length ? table(['Tenant', 'Provider', 'Roles', 'Signed in', 'Expires', ''], u.sessions.map((s) => h('tr', {},
        h('td', {}, h('a', { href: '#/tenants/' + enc(s.tenant) }, s.tenant)), h('td', {}, s.provider), h('td', {}, (s.roles || []).join(', ') || '—'),
        h('td', {}, fmtTime(s.auth_time)), h('td', {}, fmtTime(s.expires_at)),
        h('td', {}, h('button', { type: 'button', class: 'btn btn-small', onClick: async () => {
          try { await api('DELETE', '/sessions/' + enc(s.id)); toast('Session revoked'); go('#/users/' + enc(id)); } catch (err) { toast(err.message, 'error'); }
        } }, 'Revoke', h('span', { class: 'sr-only' }, ' session in ' + s.tenant))))), { caption: 'Live sessions' })
        : h('p', { class: 'muted' }, u.disabled ? 'None: the user is disabled.' : 'None.')));
}
