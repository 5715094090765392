// Connections: upstream identity providers, from config.toml or made here,
// and the email domains that route users to them.
import { h, clear, field, input, textarea, select, lines, showProblems, toast, confirmDialog,
  emptyState, badge, pageHeader, table, fmtTime, copyButton, go } from '../dom.js';
import { api, get, all, enc } from '../api.js';

export async function render(view, [id, sub]) {
  if (id === 'new') return create(view);
  if (id && sub === 'edit') return edit(view, id);
  if (id) return detail(view, id);
  return list(view);
}

async function list(view) {
  const items = await all('/connections');
  view.append(pageHeader('Connections', 'The identity providers users sign in with: config.toml\'s providers, and connections made here.',
    h('a', { class: 'btn btn-primary', href: '#/connections/new' }, 'Create connection')));
  if (!items.some((c) => c.managed_by === 'api')) {
    view.append(emptyState('No connections made here yet',
      'Add one to let a tenant sign in through its customer\'s own identity provider (Okta, Entra ID, Keycloak…): pick its type, paste the client id and secret the provider gave you, then test it. Claim the customer\'s email domain to send its users straight there.',
      h('a', { class: 'btn btn-primary', href: '#/connections/new' }, 'Create a connection')));
  }
  if (items.length) {
    view.append(table(['Connection', 'Type', 'Usable by', 'Managed by'], items.map((c) => h('tr', {},
      h('td', {}, h('a', { href: '#/connections/' + enc(c.id), class: 'strong' }, c.display_name || c.id), h('div', { class: 'muted mono small' }, c.id)),
      h('td', {}, c.type),
      h('td', {}, c.tenant ? h('span', {}, 'only ', h('a', { href: '#/tenants/' + enc(c.tenant) }, c.tenant)) : 'any tenant that lists it'),
      h('td', {}, c.managed_by === 'config' ? badge('config.toml', 'neutral') : badge('API', 'ok')))), { caption: 'Connections' }));
  }
}

const labels = {
  client_id: 'Client ID', client_secret: 'Client secret', issuer: 'Issuer URL', scopes: 'Scopes', trust_email: 'Trust its verified emails',
  display_name: 'Display name', hosted_domain: 'Google Workspace domain', base_url: 'Base URL', api_url: 'API URL',
  tenant: 'Microsoft directory (tenant)', allowed_tenants: 'Allowed directories', authority: 'Authority URL', team_id: 'Apple team ID',
  key_id: 'Apple key ID', private_key: 'Private key (PEM)', authorize_url: 'Authorize URL', token_url: 'Token URL',
  userinfo_url: 'Userinfo URL', claims: 'Claim paths (JSON)',
};
const hints = {
  issuer: 'Its discovery document is at {issuer}/.well-known/openid-configuration.', scopes: 'Separated by spaces.',
  trust_email: 'Only if it verifies every address it marks verified: then they may link accounts.',
  allowed_tenants: 'One directory id per line.', client_secret: 'Write-only: stored sealed, never shown again.',
  claims: 'Where the userinfo answer keeps each claim, like {"subject": "id", "email": "email"}.',
};

function control(key, defaults) {
  const ph = defaults?.[key] ? 'Default: ' + defaults[key] : '';
  switch (key) {
    case 'client_secret': return input(key, { type: 'password', autocomplete: 'new-password' });
    case 'private_key': return textarea(key, { rows: 5, class: 'mono', placeholder: '-----BEGIN PRIVATE KEY-----' });
    case 'allowed_tenants': return textarea(key, { rows: 2 });
    case 'claims': return textarea(key, { rows: 4, class: 'mono' });
    case 'trust_email': return select(key, [['', 'The type\'s default'], ['true', 'Yes'], ['false', 'No']], '');
    case 'issuer': case 'base_url': case 'api_url': case 'authority': case 'authorize_url': case 'token_url': case 'userinfo_url':
      return input(key, { type: 'url', placeholder: ph || 'https://' });
    default: return input(key, { placeholder: ph });
  }
}

function valueOf(key, el, probs) {
  const v = el.value.trim();
  if (!v) return undefined;
  switch (key) {
    case 'scopes': return v.split(/\s+/);
    case 'allowed_tenants': return lines(v);
    case 'trust_email': return v === 'true';
    case 'claims': try { return JSON.parse(v); } catch (e) { probs.push({ field: key, message: 'not valid JSON: ' + e.message }); return undefined; }
    default: return v;
  }
}

async function create(view) {
  const [types, tenants] = await Promise.all([get('/connection-types'), all('/tenants')]);
  const typeSel = select('type', types.items.map((t) => [t.type, t.label ? `${t.label} (${t.type})` : t.type === 'oidc' ? 'OpenID Connect (oidc)' : 'OAuth 2.0 (oauth2)']), 'oidc');
  const id = input('id', { required: true, autocapitalize: 'none', pattern: '[a-z0-9_-]{1,64}' });
  const owner = select('tenant', [['', 'Any tenant that lists it'], ...tenants.filter((t) => t.id !== 'broker-console').map((t) => [t.id, 'Only ' + (t.name || t.id)])], '');
  const fields = h('div', { class: 'type-fields' });
  let controls = {};
  const drawType = () => {
    const t = types.items.find((x) => x.type === typeSel.value);
    controls = {};
    clear(fields, t.keys.map((k) => {
      const c = controls[k] = control(k, t.defaults);
      const name = k === 'tenant' ? 'microsoft_tenant' : k;
      c.name = name;
      return field(labels[k] || k, c, { hint: hints[k], name });
    }));
  };
  typeSel.addEventListener('change', drawType);
  drawType();
  const banner = h('div', { class: 'form-error alert', role: 'alert', tabindex: '-1', hidden: true });
  const save = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create connection');
  const form = h('form', { class: 'form', novalidate: true }, banner,
    h('section', { class: 'card' }, h('h2', {}, 'Connection'),
      h('div', { class: 'grid2' },
        field('Type', typeSel, { hint: 'Which kind of identity provider it is.' }),
        field('Connection ID', id, { hint: 'Lowercase letters, digits, _ and -: its name in a tenant\'s providers and in /auth/{id}/login.' })),
      field('Usable by', owner, { hint: 'An owned connection serves only its tenant (a customer\'s own IdP).', name: 'tenant' })),
    h('section', { class: 'card' }, h('h2', {}, 'Settings from the provider'),
      h('p', { class: 'muted small' }, 'Register the broker with the provider; its redirect URI there is ', h('code', { class: 'redirect-preview' }, ''), '.'),
      fields),
    h('div', { class: 'actions sticky' }, h('a', { class: 'btn', href: '#/connections' }, 'Cancel'), save));
  const preview = form.querySelector('.redirect-preview');
  const base = location.href.replace(/\/admin\/.*$/, '');
  const drawPreview = () => { preview.textContent = `${base}/auth/${id.value || '{id}'}/callback`; };
  id.addEventListener('input', drawPreview);
  drawPreview();
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const probs = [];
    const body = { id: id.value.trim(), type: typeSel.value };
    if (owner.value) body.tenant = owner.value;
    for (const [k, el] of Object.entries(controls)) {
      const v = valueOf(k, el, probs);
      if (v !== undefined) body[k === 'tenant' ? 'microsoft_tenant' : k] = v;
    }
    if (probs.length) return showProblems(form, { message: 'Fix the fields marked below.', problems: probs });
    save.disabled = true;
    try {
      const c = await api('POST', '/connections', body);
      toast('Connection ' + c.id + ' created' + (c.tenant ? ': add it to ' + c.tenant + '\'s providers' : ''));
      go('#/connections/' + enc(c.id));
    } catch (err) { showProblems(form, err); } finally { save.disabled = false; }
  });
  view.append(h('p', { class: 'crumbs' }, h('a', { href: '#/connections' }, 'Connections'), ' / '),
    pageHeader('Create connection', 'An upstream identity provider the broker signs users in with.'), form);
}

async function detail(view, id) {
  const c = await get('/connections/' + enc(id));
  const api_ = c.managed_by === 'api';
  const shown = Object.entries(c).filter(([k]) => !['id', 'managed_by', 'created_at', 'updated_at', 'secrets_set'].includes(k));
  const facts = h('dl', { class: 'facts' },
    shown.map(([k, v]) => [h('dt', {}, k === 'tenant' ? 'Owned by tenant' : k === 'type' ? 'Type' : k === 'microsoft_tenant' ? labels.tenant : labels[k] || k),
      h('dd', { class: typeof v === 'string' && /^https?:/.test(v) ? 'mono' : '' }, typeof v === 'object' ? JSON.stringify(v) : String(v))]),
    h('dt', {}, 'Secrets set'), h('dd', {}, (c.secrets_set || []).join(', ') || 'none'));

  const result = h('div', { class: 'test-result', 'aria-live': 'polite' });
  const testBtn = h('button', { type: 'button', class: 'btn', onClick: async () => {
    testBtn.disabled = true;
    clear(result, h('p', { class: 'muted' }, 'Fetching the discovery document…'));
    try { showTest(result, await api('POST', '/connections/' + enc(id) + '/test')); } catch (err) { clear(result, h('div', { class: 'alert' }, err.message)); }
    testBtn.disabled = false;
  } }, 'Test connection');

  const actions = [testBtn];
  if (api_) {
    actions.push(h('a', { class: 'btn', href: '#/connections/' + enc(id) + '/edit' }, 'Edit'));
    actions.push(h('button', { type: 'button', class: 'btn btn-danger', onClick: async () => {
      if (!await confirmDialog({ title: 'Delete connection ' + id + '?', body: 'Nobody can sign in through it any more, and its domains are released. This cannot be undone.', action: 'Delete connection', typeToConfirm: id })) return;
      try { await api('DELETE', '/connections/' + enc(id)); toast('Connection ' + id + ' deleted'); go('#/connections'); } catch (err) { toast(err.message, 'error'); }
    } }, 'Delete'));
  }
  view.append(h('p', { class: 'crumbs' }, h('a', { href: '#/connections' }, 'Connections'), ' / '),
    pageHeader(c.display_name || c.id, api_ ? `${c.type} · created ${fmtTime(c.created_at)}` : `${c.type} · managed by config.toml`, ...actions),
    result, h('section', { class: 'card' }, h('h2', {}, 'Settings'), facts));
  if (api_) view.append(await domains(id));
}

function showTest(el, r) {
  const rows = ['url', 'issuer', 'authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'jwks_uri', 'scopes_supported', 'code_challenge_methods_supported']
    .filter((k) => r[k] !== undefined)
    .map((k) => [h('dt', {}, k === 'url' ? 'Discovery document' : k), h('dd', { class: 'mono' }, Array.isArray(r[k]) ? r[k].join(' ') : String(r[k]))]);
  clear(el, h('section', { class: 'card ' + (r.ok ? 'card-ok' : 'card-bad') },
    h('h2', {}, r.ok ? 'Discovery works' : 'Discovery failed'),
    r.error ? h('p', {}, r.error) : h('p', { class: 'muted' }, 'The broker fetched the provider\'s OpenID configuration; its issuer matches.'),
    rows.length ? h('dl', { class: 'facts' }, rows) : ''));
}

async function domains(id) {
  const items = await all('/connections/' + enc(id) + '/domains');
  const sec = h('section', { class: 'card' }, h('h2', {}, 'Domains'),
    h('p', { class: 'muted' }, 'Users whose email is in a verified domain go straight to this connection, and a sign-in through it must end with an email in one of them. Prove a domain is yours with a DNS TXT record.'));
  const dom = input('domain', { placeholder: 'acme.com', autocapitalize: 'none' });
  const banner = h('div', { class: 'form-error alert', role: 'alert', tabindex: '-1', hidden: true });
  const form = h('form', { class: 'inline-form', novalidate: true }, banner, field('Domain', dom, { name: 'domain' }),
    h('button', { type: 'submit', class: 'btn btn-primary' }, 'Add domain'));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try { await api('POST', '/connections/' + enc(id) + '/domains', { domain: dom.value.trim() }); toast('Domain added: publish its TXT record, then verify'); go('#/connections/' + enc(id)); } catch (err) { showProblems(form, err); }
  });
  sec.append(form);
  if (!items.length) sec.append(h('p', { class: 'muted empty-inline' }, 'No domains yet.'));
  for (const d of items) {
    const verify = h('button', { type: 'button', class: 'btn btn-small btn-primary', onClick: async () => {
      verify.disabled = true;
      try {
        const r = await api('POST', `/connections/${enc(id)}/domains/${enc(d.domain)}/verify`);
        toast(r.verified ? d.domain + ' is verified' : 'No matching TXT record for ' + d.domain + ' yet', r.verified ? 'ok' : 'error');
        if (r.verified) go('#/connections/' + enc(id));
      } catch (err) { toast(err.message, 'error'); }
      verify.disabled = false;
    } }, 'Verify ' + d.domain);
    const remove = h('button', { type: 'button', class: 'btn btn-small btn-danger', onClick: async () => {
      if (!await confirmDialog({ title: 'Remove ' + d.domain + '?', body: 'Its users are no longer sent to this connection.', action: 'Remove domain' })) return;
      try { await api('DELETE', `/connections/${enc(id)}/domains/${enc(d.domain)}`); go('#/connections/' + enc(id)); } catch (err) { toast(err.message, 'error'); }
    } }, 'Remove');
    sec.append(h('div', { class: 'domain' + (d.verified ? ' verified' : '') },
      h('div', { class: 'domain-head' }, h('h3', {}, d.domain), d.verified ? badge('Verified ' + fmtTime(d.verified_at), 'ok') : badge('Not verified', 'warn'),
        h('div', { class: 'spacer' }), d.verified ? '' : verify, remove),
      d.verified ? '' : h('div', { class: 'txt' },
        h('p', { class: 'small' }, 'Publish this TXT record in the DNS of ', h('strong', {}, d.domain), ', then press Verify:'),
        h('dl', { class: 'facts' },
          h('dt', {}, 'Name'), h('dd', { class: 'copyable' }, h('span', { class: 'mono txt-name' }, d.txt_name), copyButton(d.txt_name)),
          h('dt', {}, 'Value'), h('dd', { class: 'copyable' }, h('span', { class: 'mono txt-value' }, d.txt_value), copyButton(d.txt_value))))));
  }
  return sec;
}

// shownValue is a connection's value as its form field shows it.
function shownValue(key, v) {
  if (v === undefined || v === null) return '';
  if (key === 'scopes') return v.join(' ');
  if (key === 'allowed_tenants') return v.join('\n');
  if (key === 'claims') return JSON.stringify(v, null, 2);
  return String(v);
}

async function edit(view, id) {
  const [c, types] = await Promise.all([get('/connections/' + enc(id)), get('/connection-types')]);
  const t = types.items.find((x) => x.type === c.type);
  const controls = {};
  const secrets = ['client_secret', 'private_key'];
  const fields = t.keys.map((k) => {
    const name = k === 'tenant' ? 'microsoft_tenant' : k;
    const el = controls[k] = control(k, t.defaults);
    el.name = name;
    const now = c[name];
    if (k === 'trust_email') el.value = now === undefined ? '' : String(now);
    else if (!secrets.includes(k)) el.value = shownValue(k, now);
    const hint = secrets.includes(k) ? ((c.secrets_set || []).includes(k) ? 'Set. Leave empty to keep it; type a new one to replace it.' : 'Not set.') : hints[k];
    return field(labels[k] || k, el, { hint, name });
  });
  const banner = h('div', { class: 'form-error alert', role: 'alert', tabindex: '-1', hidden: true });
  const save = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Save changes');
  const form = h('form', { class: 'form', novalidate: true }, banner,
    h('section', { class: 'card' }, h('h2', {}, 'Settings'), fields),
    h('div', { class: 'actions' }, h('a', { class: 'btn', href: '#/connections/' + enc(id) }, 'Cancel'), save));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const probs = [];
    const patch = {};
    for (const [k, el] of Object.entries(controls)) {
      const name = k === 'tenant' ? 'microsoft_tenant' : k;
      const v = valueOf(k, el, probs);
      if (secrets.includes(k)) { if (v !== undefined) patch[name] = v; continue; }
      const before = c[name];
      if (v === undefined) { if (before !== undefined) patch[name] = null; continue; }
      if (JSON.stringify(v) !== JSON.stringify(before)) patch[name] = v;
    }
    if (probs.length) return showProblems(form, { message: 'Fix the fields marked below.', problems: probs });
    save.disabled = true;
    try {
      await api('PATCH', '/connections/' + enc(id), patch);
      toast('Saved');
      go('#/connections/' + enc(id));
    } catch (err) { showProblems(form, err); } finally { save.disabled = false; }
  });
  view.append(h('p', { class: 'crumbs' }, h('a', { href: '#/connections' }, 'Connections'), ' / ', h('a', { href: '#/connections/' + enc(id) }, c.display_name || id), ' / '),
    pageHeader('Edit ' + (c.display_name || id), `${c.type}${c.tenant ? ' · owned by ' + c.tenant : ''}: its id, type and owner do not change.`), form);
}
