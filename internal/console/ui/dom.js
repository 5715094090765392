// Small DOM helpers: h() builds elements (text is always text, never
// HTML: no innerHTML anywhere, so no injection from API data).

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2).toLowerCase(), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = !!v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let uid = 0;
export const nextID = (p = 'f') => `${p}-${++uid}`;

// field is a labelled form control: a visible <label>, the control, a hint
// and a place for the API's problem with it (data-field = the API's key).
export function field(label, control, { hint, name } = {}) {
  const id = control.id || (control.id = nextID());
  const wrap = h('div', { class: 'field', dataset: { field: name || control.name || '' } });
  const hintEl = hint ? h('p', { class: 'hint', id: id + '-hint' }, hint) : null;
  const err = h('p', { class: 'field-error', id: id + '-error', hidden: true });
  if (hintEl) control.setAttribute('aria-describedby', hintEl.id + ' ' + err.id);
  else control.setAttribute('aria-describedby', err.id);
  if (control.type === 'checkbox') {
    wrap.classList.add('field-check');
    wrap.append(h('div', { class: 'check' }, control, h('label', { for: id }, label)), hintEl || '', err);
  } else {
    wrap.append(h('label', { for: id }, label), control, hintEl || '', err);
  }
  return wrap;
}

export const input = (name, attrs = {}) => h('input', { name, type: 'text', autocomplete: 'off', ...attrs });
export const textarea = (name, attrs = {}) => h('textarea', { name, rows: 3, spellcheck: 'false', ...attrs });

export function select(name, options, value, attrs = {}) {
  const s = h('select', { name, ...attrs });
  for (const o of options) {
    const [v, label] = Array.isArray(o) ? o : [o, o];
    s.append(h('option', { value: v, selected: v === value }, label));
  }
  return s;
}

export const lines = (s) => (s || '').split(/[\n,]/).map((x) => x.trim()).filter(Boolean);

// showProblems puts each {field, message} under its field; the rest, and
// the description, in the form's banner.
export function showProblems(form, err) {
  for (const e of form.querySelectorAll('.field-error')) { e.hidden = true; e.textContent = ''; }
  for (const c of form.querySelectorAll('[aria-invalid]')) c.removeAttribute('aria-invalid');
  const banner = form.querySelector('.form-error');
  const rest = [];
  for (const p of err.problems || []) {
    const top = p.field.split(/[.[]/)[0];
    const f = form.querySelector(`.field[data-field="${CSS.escape(p.field)}"]`) || form.querySelector(`.field[data-field="${CSS.escape(top)}"]`);
    if (f) {
      const e = f.querySelector('.field-error');
      e.textContent = (e.textContent ? e.textContent + ' ' : '') + (f.dataset.field === p.field ? '' : p.field + ': ') + p.message;
      e.hidden = false;
      f.querySelector('input, textarea, select')?.setAttribute('aria-invalid', 'true');
    } else rest.push(`${p.field}: ${p.message}`);
  }
  if (banner) {
    banner.hidden = false;
    const title = err.problems?.length ? 'The broker refused this: fix what is marked below.' : err.message;
    clear(banner, h('strong', {}, title), rest.length ? h('ul', {}, rest.map((r) => h('li', {}, r))) : '');
    banner.focus();
  }
}

export function toast(message, kind = 'ok') {
  const t = h('div', { class: 'toast toast-' + kind }, message);
  document.getElementById('toasts').append(t);
  setTimeout(() => t.remove(), 4000);
}

// confirmDialog asks before something that cannot be undone; with
// typeToConfirm the operator must type that word.
export function confirmDialog({ title, body, action = 'Delete', danger = true, typeToConfirm }) {
  return new Promise((resolve) => {
    const box = typeToConfirm ? input('confirm', { required: true }) : null;
    const ok = h('button', { type: 'submit', class: danger ? 'btn btn-danger' : 'btn btn-primary', value: 'ok' }, action);
    const form = h('form', { method: 'dialog', class: 'dialog-body' },
      h('h2', {}, title), h('p', {}, body),
      box ? field(`Type ${typeToConfirm} to confirm`, box) : '',
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn', value: 'cancel', formnovalidate: true }, 'Cancel'), ok));
    const dlg = h('dialog', { class: 'dialog', 'aria-labelledby': '' }, form);
    if (box) {
      ok.disabled = true;
      box.addEventListener('input', () => { ok.disabled = box.value !== typeToConfirm; });
    }
    dlg.addEventListener('close', () => { dlg.remove(); resolve(dlg.returnValue === 'ok'); });
    document.body.append(dlg);
    const hid = nextID('dlg');
    form.querySelector('h2').id = hid;
    dlg.setAttribute('aria-labelledby', hid);
    dlg.showModal();
  });
}

// secretDialog shows a secret once, with a copy button.
export function secretDialog({ title, body, secret, label = 'Secret' }) {
  return new Promise((resolve) => {
    const out = h('input', { type: 'text', readonly: true, value: secret, class: 'mono secret-value', name: 'secret' });
    const copy = h('button', { type: 'button', class: 'btn', onClick: () => copyText(secret, copy) }, 'Copy');
    const form = h('form', { method: 'dialog', class: 'dialog-body' },
      h('h2', {}, title), h('p', {}, body),
      h('div', { class: 'copy-row' }, field(label, out), copy),
      h('p', { class: 'warn' }, 'It is shown this once: the broker keeps only a hash of it.'),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'btn btn-primary' }, 'I have copied it')));
    const dlg = h('dialog', { class: 'dialog' }, form);
    dlg.addEventListener('close', () => { dlg.remove(); resolve(); });
    document.body.append(dlg);
    const hid = nextID('dlg');
    form.querySelector('h2').id = hid;
    dlg.setAttribute('aria-labelledby', hid);
    dlg.showModal();
    out.select();
  });
}

export async function copyText(text, button) {
  try {
    await navigator.clipboard.writeText(text);
    if (button) { const was = button.textContent; button.textContent = 'Copied'; setTimeout(() => { button.textContent = was; }, 1500); }
  } catch {
    toast('Copying was refused by the browser: select the text and copy it', 'error');
  }
}

export function copyButton(text, label = 'Copy') {
  const b = h('button', { type: 'button', class: 'btn btn-small', onClick: () => copyText(text, b) }, label);
  return b;
}

export const fmtTime = (s) => (s ? new Date(s).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' }) : '—');

export function emptyState(title, text, action) {
  return h('div', { class: 'empty' }, h('h2', {}, title), h('p', {}, text), action || '');
}

export function badge(text, kind = '') {
  return h('span', { class: 'badge' + (kind ? ' badge-' + kind : '') }, text);
}

export function pageHeader(title, sub, ...actions) {
  return h('header', { class: 'page-header' },
    h('div', {}, h('h1', { tabindex: '-1' }, title), sub ? h('p', { class: 'muted' }, sub) : ''),
    actions.length ? h('div', { class: 'page-actions' }, actions) : '');
}

export function table(headers, rows, { caption } = {}) {
  // Each cell knows its column's name: on a phone, rows become cards
  // that label their values (console.css).
  for (const tr of [rows].flat(Infinity)) {
    if (tr instanceof HTMLTableRowElement) [...tr.cells].forEach((td, i) => { if (headers[i]) td.dataset.label = headers[i]; if (td.textContent.trim() === '—') td.classList.add('blank'); });
  }
  // Focusable, so that a table wider than the screen scrolls by keyboard.
  return h('div', { class: 'table-wrap', tabindex: '0', role: 'region', 'aria-label': caption || 'Table' }, h('table', {},
    caption ? h('caption', { class: 'sr-only' }, caption) : '',
    h('thead', {}, h('tr', {}, headers.map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, rows)));
}

// go navigates to a hash route, re-rendering when it is the current one.
export function go(hash) {
  if (location.hash === hash) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else location.hash = hash;
}
