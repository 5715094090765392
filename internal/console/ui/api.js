// The admin API, called with the operator's access token.
import { base, accessToken, forget } from './auth.js';

export class APIError extends Error {
  constructor(status, body) {
    super(body.error_description || body.error || `The broker answered ${status}`);
    this.status = status;
    this.code = body.error;
    this.problems = body.problems || [];
  }
}

export async function api(method, path, body) {
  for (let attempt = 0; ; attempt++) {
    const headers = { Authorization: 'Bearer ' + await accessToken() };
    if (body !== undefined) headers['Content-Type'] = method === 'PATCH' ? 'application/merge-patch+json' : 'application/json';
    const r = await fetch(base + '/admin/v1' + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    if (r.status === 401 && attempt === 0) { forget(); continue; } // expired: refresh once
    if (r.status === 204) return null;
    const data = await r.json().catch(() => ({}));
    if (!r.ok) throw new APIError(r.status, data);
    return data;
  }
}

export const get = (p) => api('GET', p);

// all reads every page of a list (at most max items).
export async function all(path, max = 1000) {
  const out = [];
  let cursor = '';
  do {
    const sep = path.includes('?') ? '&' : '?';
    const page = await get(path + sep + 'limit=200' + (cursor ? '&cursor=' + encodeURIComponent(cursor) : ''));
    out.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && out.length < max);
  return out;
}

export const enc = encodeURIComponent;
