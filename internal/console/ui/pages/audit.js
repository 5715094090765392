// The audit log: every admin change and security event, newest first.
import { h, clear, field, input, select, showProblems, emptyState, pageHeader, table, fmtTime, badge } from '../dom.js';
import { get, all, enc } from '../api.js';

const types = ['tenant.created', 'tenant.updated', 'tenant.deleted', 'connection.created', 'connection.updated', 'connection.deleted',
  'domain.created', 'domain.verified', 'domain.deleted', 'user.disabled', 'user.enabled', 'user.deleted', 'session.revoked',
  'key.created', 'key.revoked', 'login.succeeded', 'login.failed', 'refresh.reuse_detected', 'logout'];

export async function render(view) {
  const params = new URLSearchParams(location.hash.split('?')[1] || '');
  const tenants = await all('/tenants');
  const type = select('type', [['', 'Any type'], ...types], params.get('type') || '');
  const tenant = select('tenant', [['', 'Any tenant'], ...tenants.map((t) => [t.id, t.name || t.id])], params.get('tenant') || '');
  const since = input('since', { type: 'datetime-local', value: params.get('since') || '' });
  const per = select('limit', [['10', '10'], ['25', '25'], ['100', '100']], params.get('limit') || '25');
  const banner = h('div', { class: 'form-error alert', role: 'alert', tabindex: '-1', hidden: true });
  const form = h('form', { class: 'toolbar', novalidate: true }, banner,
    field('Type', type, { name: 'type' }), field('Tenant', tenant, { name: 'tenant' }), field('Since', since, { name: 'since' }), field('Per page', per, { name: 'limit' }),
    h('button', { type: 'submit', class: 'btn btn-primary' }, 'Filter'));
  const results = h('div', { class: 'results' });
  const cursors = [''];
  const load = async (i) => {
    const q = new URLSearchParams({ limit: per.value });
    if (type.value) q.set('type', type.value);
    if (tenant.value) q.set('tenant', tenant.value);
    if (since.value) q.set('since', new Date(since.value).toISOString());
    if (cursors[i]) q.set('cursor', cursors[i]);
    try {
      const page = await get('/audit?' + q);
      const items = page.items;
      cursors[i + 1] = page.next_cursor || null;
      const prev = h('button', { type: 'button', class: 'btn', disabled: i === 0, onClick: () => load(i - 1) }, 'Newer');
      const next = h('button', { type: 'button', class: 'btn', disabled: !page.next_cursor, onClick: () => load(i + 1) }, 'Older');
      clear(results, items.length ? table(['Time', 'Event', 'Actor', 'Tenant', 'User', 'IP', 'Detail'], items.map((e) => h('tr', {},
        h('td', { class: 'nowrap' }, fmtTime(e.time)),
        h('td', {}, badge(e.type, /failed|reuse|deleted|disabled|revoked/.test(e.type) ? 'warn' : 'neutral')),
        h('td', { class: 'small' }, e.actor || '—'),
        h('td', {}, e.tenant ? h('a', { href: '#/tenants/' + enc(e.tenant) }, e.tenant) : '—'),
        h('td', { class: 'mono small' }, e.user ? h('a', { href: '#/users/' + enc(e.user) }, e.user) : '—'),
        h('td', { class: 'mono small nowrap' }, e.ip || '—'),
        h('td', { class: 'small detail' }, e.detail ? Object.entries(e.detail).map(([k, v]) => h('div', {}, h('span', { class: 'muted' }, k + ': '), typeof v === 'object' ? JSON.stringify(v) : String(v))) : ''))), { caption: 'Audit events, newest first' })
        : emptyState('No events', 'Nothing matches these filters. Every admin change and every sign-in is recorded here.'),
      h('nav', { class: 'pager', 'aria-label': 'Audit pages' }, prev, h('span', { class: 'muted small' }, 'Page ' + (i + 1)), next));
    } catch (err) { showProblems(form, err); }
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams();
    if (type.value) q.set('type', type.value);
    if (tenant.value) q.set('tenant', tenant.value);
    if (since.value) q.set('since', since.value);
    if (per.value !== '25') q.set('limit', per.value);
    history.replaceState(null, '', '#/audit' + (q.toString() ? '?' + q : ''));
    cursors.length = 1;
    load(0);
  });
  view.append(pageHeader('Audit log', 'Every admin change and security event, newest first.'), form, results);
  await load(0);
}
