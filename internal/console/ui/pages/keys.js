// API keys: long-lived credentials for scripts and CI (the console itself
// never uses one).
import { h, field, input, select, showProblems, toast, confirmDialog, secretDialog, emptyState, badge, pageHeader, table, fmtTime, go } from '../dom.js';
import { api, all, enc } from '../api.js';

const scopes = [
  ['admin', 'Everything (admin)'], ['tenants:read', 'Read tenants'], ['tenants:write', 'Change tenants'],
  ['connections:read', 'Read connections'], ['connections:write', 'Change connections'],
  ['users:read', 'Read users'], ['users:write', 'Disable and delete users'], ['audit:read', 'Read the audit log'],
];

export async function render(view) {
  const [keys, tenants] = await Promise.all([all('/keys'), all('/tenants')]);
  const name = input('name', { required: true, placeholder: 'ci-deploy' });
  const tenant = select('tenant', [['', 'All tenants'], ...tenants.filter((t) => t.id !== 'broker-console').map((t) => [t.id, 'Only ' + (t.name || t.id)])], '');
  const boxes = scopes.map(([s, label]) => {
    const b = h('input', { type: 'checkbox', name: 'scopes', value: s, id: 'scope-' + s.replace(':', '-') });
    return h('div', { class: 'check' }, b, h('label', { for: b.id }, label, ' ', h('code', { class: 'small' }, s)));
  });
  const banner = h('div', { class: 'form-error alert', role: 'alert', tabindex: '-1', hidden: true });
  const form = h('form', { class: 'form', novalidate: true }, banner,
    h('div', { class: 'grid2' }, field('Key name', name, { hint: 'Whose or what it is for; shown in the audit log.' }),
      field('Restricted to', tenant, { hint: 'A restricted key sees only that tenant\'s things.', name: 'tenant' })),
    h('fieldset', { class: 'field', dataset: { field: 'scopes' } }, h('legend', {}, 'Scopes'), h('div', { class: 'checks' }, boxes), h('p', { class: 'field-error', hidden: true })),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create key')));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = { name: name.value.trim(), scopes: [...form.querySelectorAll('input[name=scopes]:checked')].map((b) => b.value) };
    if (tenant.value) body.tenant = tenant.value;
    try {
      const k = await api('POST', '/keys', body);
      await secretDialog({ title: 'API key ' + k.name, body: 'Send it as Authorization: Bearer <key> to ' + location.origin + '/admin/v1.', secret: k.key, label: 'API key' });
      go('#/keys');
    } catch (err) { showProblems(form, err); }
  });
  const live = keys.filter((k) => !k.revoked);
  view.append(pageHeader('API keys', 'Keys for scripts and CI to call the admin API. The console never uses one: it uses your own sign-in.'));
  view.append(h('section', { class: 'card' }, h('h2', {}, 'Create a key'), form));
  if (!keys.length) view.append(emptyState('No keys yet', 'Create one for each script or pipeline that manages tenants, so that each can be revoked on its own.'));
  else {
    view.append(table(['Key', 'Scopes', 'Tenant', 'Created', 'Status', ''], keys.map((k) => h('tr', {},
      h('td', {}, h('span', { class: 'strong' }, k.name), h('div', { class: 'muted mono small' }, k.id)),
      h('td', {}, k.scopes.map((s) => badge(s, 'neutral'))),
      h('td', {}, k.tenant || 'all'),
      h('td', {}, fmtTime(k.created_at)),
      h('td', {}, k.revoked ? badge('Revoked ' + fmtTime(k.revoked_at), 'bad') : badge('Active', 'ok')),
      h('td', {}, k.revoked ? '' : h('button', { type: 'button', class: 'btn btn-small btn-danger', onClick: async () => {
        if (!await confirmDialog({ title: 'Revoke key ' + k.name + '?', body: 'Whatever uses it is refused from now on.', action: 'Revoke key' })) return;
        try { await api('DELETE', '/keys/' + enc(k.id)); toast('Key revoked'); go('#/keys'); } catch (err) { toast(err.message, 'error'); }
      } }, 'Revoke', h('span', { class: 'sr-only' }, ' ' + k.name))))), { caption: 'API keys' }));
    if (!live.length) view.append(h('p', { class: 'muted' }, 'Every key is revoked.'));
  }
}
