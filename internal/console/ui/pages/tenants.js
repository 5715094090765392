// Tenants: the apps that sign users in through the broker.
import { h, clear, field, input, textarea, select, lines, showProblems, toast, confirmDialog, secretDialog,
  emptyState, badge, pageHeader, table, fmtTime, go, copyButton } from '../dom.js';
import { base } from '../auth.js';
import { api, get, all, enc } from '../api.js';

export async function render(view, [id]) {
  if (id === 'new') return editor(view, null);
  if (id) return editor(view, await get('/tenants/' + enc(id)));
  return list(view);
}

async function list(view) {
  const items = await all('/tenants');
  const create = h('a', { class: 'btn btn-primary', href: '#/tenants/new' }, 'Create tenant');
  const made = items.filter((t) => t.managed_by === 'api' && t.id !== 'broker-console');
  view.append(pageHeader('Tenants', 'Each tenant is one app that signs its users in through the broker; its id is its OAuth client_id.', create));
  if (made.length === 0) {
    view.append(emptyState('No tenants created here yet',
      'Start here: create a tenant for your app with the URL the broker should send users back to (its redirect URI) and the providers its users may sign in with; no restart needed. Tenants from config.toml are listed below, read-only, and broker-console is the tenant this console signs you in through.',
      h('a', { class: 'btn btn-primary', href: '#/tenants/new' }, 'Create your first tenant')));
  }
  const search = input('q', { type: 'search', placeholder: 'Name or id' });
  const body = h('tbody');
  const draw = () => {
    const q = search.value.trim().toLowerCase();
    const rows = items.filter((t) => !q || t.id.toLowerCase().includes(q) || (t.name || '').toLowerCase().includes(q));
    clear(body, rows.length ? rows.map(row) : h('tr', {}, h('td', { colspan: 4, class: 'muted' }, 'No tenant matches “' + search.value + '”.')));
  };
  search.addEventListener('input', draw);
  view.append(h('div', { class: 'toolbar' }, field('Search tenants', search)));
  const t = table(['Tenant', 'Type', 'Providers', 'Managed by'], [], { caption: 'Tenants' });
  t.querySelector('tbody').replaceWith(body);
  view.append(t);
  draw();
}

function row(t) {
  return h('tr', {},
    h('td', {}, h('a', { href: '#/tenants/' + enc(t.id), class: 'strong' }, t.name || t.id), h('div', { class: 'muted mono small' }, t.id)),
    h('td', {}, t.confidential ? badge('Confidential') : badge('Public (PKCE)', 'neutral')),
    h('td', {}, (t.providers || []).join(', ')),
    h('td', {}, t.managed_by === 'config' ? badge('config.toml', 'neutral') : t.id === 'broker-console' ? badge('built-in', 'neutral') : badge('API', 'ok')));
}

// norm is a tenant's value as the form would send it back: empty is null.
const norm = (v) => (v === undefined || v === '' || (Array.isArray(v) && v.length === 0) || (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0) ? null : v);

const jsonText = (v) => (v === undefined || v === null || (Array.isArray(v) && v.length === 0) ? '' : JSON.stringify(v, null, 2));

async function editor(view, t) {
  const creating = !t;
  const readOnly = t && t.managed_by === 'config';
  const [conns, doc] = await Promise.all([all('/connections'), get('/openapi.json')]);
  // Per-tenant claims are offered when this broker's API takes them.
  const hasClaims = 'claims' in (doc.components?.schemas?.TenantInput?.properties || {});
  t = t || { providers: [], redirect_uris: [], allowed_origins: [], post_logout_redirect_uris: [] };

  const f = {
    id: input('id', { value: t.id, required: true, readonly: !creating, autocapitalize: 'none', pattern: '[A-Za-z0-9._-]{1,64}' }),
    name: input('name', { value: t.name }),
    redirect_uris: textarea('redirect_uris', { value: (t.redirect_uris || []).join('\n'), required: true }),
    post_logout_redirect_uris: textarea('post_logout_redirect_uris', { value: (t.post_logout_redirect_uris || []).join('\n') }),
    allowed_origins: textarea('allowed_origins', { value: (t.allowed_origins || []).join('\n') }),
    confidential: h('input', { type: 'checkbox', name: 'confidential', checked: t.confidential, disabled: !creating }),
    refresh_token_delivery: select('refresh_token_delivery', [['body', 'In the token response (body)'], ['cookie', 'In an HttpOnly cookie (cookie mode)']], t.refresh_token_delivery || 'body'),
    email_domains: textarea('access.email_domains', { value: (t.access?.email_domains || []).join('\n'), rows: 2 }),
    github_orgs: textarea('access.github_orgs', { value: (t.access?.github_orgs || []).join('\n'), rows: 2 }),
    groups: textarea('access.groups', { value: (t.access?.groups || []).join('\n'), rows: 2 }),
    roles: textarea('roles', { value: jsonText(t.roles), rows: 6, class: 'mono',
      placeholder: '[{"role": "admin", "emails": ["alice@acme.com"]}, {"role": "viewer", "everyone": true}]' }),
    claims: textarea('claims', { value: jsonText(t.claims), rows: 4, class: 'mono', placeholder: '[{"name": "domain", "expr": "user.email.split(\'@\')[1]", "in": ["id_token"]}]' }),
    backchannel_logout_uri: input('backchannel_logout_uri', { value: t.backchannel_logout_uri, type: 'url' }),
  };
  const providerBoxes = conns.map((c) => {
    const box = h('input', { type: 'checkbox', name: 'providers', value: c.id, checked: (t.providers || []).includes(c.id), id: 'prov-' + c.id });
    return h('div', { class: 'check' }, box, h('label', { for: box.id }, c.display_name || c.id, ' ', h('span', { class: 'muted small' }, c.type + (c.tenant ? ' · owned by ' + c.tenant : ''))));
  });
  const providers = h('fieldset', { class: 'field', dataset: { field: 'providers' } },
    h('legend', {}, 'Providers'), h('p', { class: 'hint' }, 'Where its users may sign in.'),
    h('div', { class: 'checks' }, providerBoxes.length ? providerBoxes : h('p', { class: 'muted' }, 'No providers: add one on the Connections page.')),
    h('p', { class: 'field-error', hidden: true }));

  const banner = h('div', { class: 'form-error alert', role: 'alert', tabindex: '-1', hidden: true });
  const save = h('button', { type: 'submit', class: 'btn btn-primary' }, creating ? 'Create tenant' : 'Save changes');
  const form = h('form', { class: 'form', novalidate: true },
    banner,
    h('section', { class: 'card' }, h('h2', {}, 'Application'),
      h('div', { class: 'grid2' },
        field('Client ID', f.id, { hint: creating ? 'Letters, digits, . _ -: the app sends it as client_id.' : 'A tenant\'s id cannot change.' }),
        field('Name', f.name, { hint: 'Shown on the sign-in page.' })),
      field('Confidential (server-side app with a client secret)', f.confidential, { hint: creating ? 'The secret is shown once, after creation.' : 'Fixed at creation.' }),
      field('Refresh token delivery', f.refresh_token_delivery)),
    h('section', { class: 'card' }, h('h2', {}, 'URLs'),
      field('Redirect URIs', f.redirect_uris, { hint: 'One per line; exact match, no wildcards.' }),
      field('Post-logout redirect URIs', f.post_logout_redirect_uris, { hint: 'One per line.' }),
      field('Allowed origins', f.allowed_origins, { hint: 'One per line, like https://app.example.com (CORS for the JSON endpoints).' }),
      field('Back-channel logout URI', f.backchannel_logout_uri, { hint: 'Optional: receives a logout token when a session ends.' })),
    h('section', { class: 'card' }, h('h2', {}, 'Sign-in'), providers,
      h('div', { class: 'grid3' },
        field('Allowed email domains', f.email_domains, { hint: 'One per line; empty: anyone.', name: 'access.email_domains' }),
        field('Allowed GitHub organisations', f.github_orgs, { name: 'access.github_orgs' }),
        field('Allowed groups', f.groups, { name: 'access.groups' }))),
    h('section', { class: 'card' }, h('h2', {}, hasClaims ? 'Roles and claims' : 'Roles'),
      field('Roles (JSON)', f.roles, { hint: 'A list of rules: role plus emails, email_domains, github_orgs, groups or everyone.' }),
      hasClaims ? field('Claims (JSON)', f.claims, { hint: 'Optional: extra claims for its tokens, a list of {name, expr (CEL), in}.' }) : ''),
    readOnly ? '' : h('div', { class: 'actions sticky' }, h('a', { class: 'btn', href: '#/tenants' }, 'Cancel'), save));

  if (readOnly) for (const el of form.querySelectorAll('input, textarea, select')) el.disabled = true;

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const body = {};
    const probs = [];
    const parse = (name, el) => {
      if (!el.value.trim()) return null;
      try { return JSON.parse(el.value); } catch (e) { probs.push({ field: name, message: 'not valid JSON: ' + e.message }); return undefined; }
    };
    body.name = f.name.value.trim() || null;
    body.redirect_uris = lines(f.redirect_uris.value);
    body.post_logout_redirect_uris = lines(f.post_logout_redirect_uris.value);
    body.allowed_origins = lines(f.allowed_origins.value);
    body.providers = [...form.querySelectorAll('input[name=providers]:checked')].map((b) => b.value);
    body.refresh_token_delivery = f.refresh_token_delivery.value;
    const access = { email_domains: lines(f.email_domains.value), github_orgs: lines(f.github_orgs.value), groups: lines(f.groups.value) };
    body.access = Object.fromEntries(Object.entries(access).filter(([, v]) => v.length));
    if (!Object.keys(body.access).length) body.access = null;
    body.roles = parse('roles', f.roles);
    if (hasClaims) body.claims = parse('claims', f.claims);
    body.backchannel_logout_uri = f.backchannel_logout_uri.value.trim() || null;
    if (probs.length) return showProblems(form, { message: 'Fix the fields marked below.', problems: probs });
    save.disabled = true;
    try {
      let saved;
      if (creating) {
        body.id = f.id.value.trim();
        if (f.confidential.checked) body.confidential = true;
        saved = await api('POST', '/tenants', Object.fromEntries(Object.entries(body).filter(([, v]) => v !== null)));
        if (saved.client_secret) {
          await secretDialog({ title: 'Client secret of ' + saved.id, body: 'Give this secret to the app\'s server: it authenticates to /token with it.', secret: saved.client_secret, label: 'Client secret' });
        }
        toast('Tenant ' + saved.id + ' created');
      } else {
        // A merge patch of what changed only: the audit log names those fields.
        const patch = {};
        for (const [k, v] of Object.entries(body)) {
          if (JSON.stringify(norm(v)) !== JSON.stringify(norm(t[k]))) patch[k] = v;
        }
        saved = await api('PATCH', '/tenants/' + enc(t.id), patch);
        toast('Saved');
      }
      go('#/tenants/' + enc(saved.id));
    } catch (err) {
      showProblems(form, err);
    } finally {
      save.disabled = false;
    }
  });

  const actions = [];
  if (!creating && !readOnly) {
    if (t.confidential) {
      actions.push(h('button', { type: 'button', class: 'btn', onClick: async () => {
        if (!await confirmDialog({ title: 'Rotate the client secret?', body: 'A new secret is made and the current one stops working at once: the app must be given the new one.', action: 'Rotate secret', danger: true })) return;
        try {
          const r = await api('POST', '/tenants/' + enc(t.id) + '/secret');
          await secretDialog({ title: 'New client secret of ' + t.id, body: 'The old secret no longer works.', secret: r.client_secret, label: 'Client secret' });
        } catch (err) { toast(err.message, 'error'); }
      } }, 'Rotate secret'));
    }
    if (t.id !== 'broker-console') {
      actions.push(h('button', { type: 'button', class: 'btn btn-danger', onClick: async () => {
        if (!await confirmDialog({ title: 'Delete tenant ' + t.id + '?', body: 'Its users are signed out of it at once, its own connections are deleted, and the app can no longer sign anyone in. This cannot be undone.', action: 'Delete tenant', typeToConfirm: t.id })) return;
        try { await api('DELETE', '/tenants/' + enc(t.id)); toast('Tenant ' + t.id + ' deleted'); go('#/tenants'); } catch (err) { toast(err.message, 'error'); }
      } }, 'Delete'));
    }
  }
  const sub = creating ? 'Register an app: the broker will sign its users in.' :
    readOnly ? 'Managed by config.toml: change it there and restart.' :
    t.id === 'broker-console' ? 'The console\'s own tenant: its roles say who may use this console.' :
    `Created ${fmtTime(t.created_at)} · updated ${fmtTime(t.updated_at)}`;
  view.append(h('p', { class: 'crumbs' }, h('a', { href: '#/tenants' }, 'Tenants'), ' / '),
    pageHeader(creating ? 'Create tenant' : (t.name || t.id), sub, ...actions));
  if (!creating && t.id !== 'broker-console') view.append(connectApp(t));
  view.append(form);
}

// connectApp is what the app's developer needs: the broker's discovery
// document and the tenant's client_id, ready to copy.
function connectApp(t) {
  const row = (label, value) => [h('dt', {}, label), h('dd', { class: 'copyable' }, h('span', { class: 'mono' }, value), copyButton(value))];
  return h('section', { class: 'card' }, h('h2', {}, 'Connect your app'),
    h('p', { class: 'muted small' }, t.confidential
      ? 'A server-side app: it redeems codes at the token endpoint with its client_id and client secret.'
      : 'A browser app: authorization code with PKCE (S256), no secret. Any OpenID Connect client library works from the issuer alone.'),
    h('dl', { class: 'facts' },
      row('Issuer', base),
      row('Discovery', base + '/.well-known/openid-configuration'),
      row('client_id', t.id)));
}
