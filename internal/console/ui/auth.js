// Signing operators in: the console is a public client of the tenant
// broker-console (authorization code + PKCE, RFC 7636 S256). Its access
// token is kept in memory only; its refresh token is an HttpOnly cookie
// the page cannot read (the tenant is in cookie mode), sent only to
// /auth/refresh and /auth/logout with the X-Broker-CSRF header.

export const CLIENT_ID = 'broker-console';
export const base = location.href.replace(/\/admin\/.*$/, '').replace(/\/admin$/, '');
const redirectURI = base + '/admin/callback';
const cookieHeaders = { 'X-Tenant-ID': CLIENT_ID, 'X-Broker-CSRF': '1' };

let token = null; // { access, exp (ms), claims }

const b64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const random = (n = 32) => b64url(crypto.getRandomValues(new Uint8Array(n)));

function claimsOf(jwt) {
  try {
    const p = jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(decodeURIComponent(escape(atob(p))));
  } catch { return {}; }
}

function keep(access, expiresIn) {
  token = { access, exp: Date.now() + (expiresIn - 20) * 1000, claims: claimsOf(access) };
}

export const operator = () => token?.claims || {};

// signIn goes to the broker's /authorize; the verifier and state wait in
// sessionStorage (this tab only) for the callback.
export async function signIn(hash = location.hash) {
  const verifier = random(32), state = random(16);
  const challenge = b64url(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier)));
  sessionStorage.setItem('console.pkce', JSON.stringify({ verifier, state, hash }));
  const q = new URLSearchParams({
    response_type: 'code', client_id: CLIENT_ID, redirect_uri: redirectURI, scope: 'openid email profile',
    code_challenge: challenge, code_challenge_method: 'S256', state,
  });
  location.assign(base + '/authorize?' + q);
  return new Promise(() => {}); // the page is leaving
}

// finishSignIn redeems the callback's code; it returns the hash to go
// back to, or throws what the broker said.
export async function finishSignIn() {
  const q = new URLSearchParams(location.search);
  const saved = JSON.parse(sessionStorage.getItem('console.pkce') || 'null');
  sessionStorage.removeItem('console.pkce');
  if (q.get('error')) throw new Error(q.get('error_description') || q.get('error'));
  if (!saved || q.get('state') !== saved.state) throw new Error('This sign-in was not started here (state mismatch): sign in again.');
  const r = await fetch(base + '/token', {
    method: 'POST', credentials: 'same-origin', headers: { ...cookieHeaders, 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: q.get('code'), redirect_uri: redirectURI, client_id: CLIENT_ID, code_verifier: saved.verifier }),
  });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(body.error_description || body.error || 'The token request failed (' + r.status + ')');
  keep(body.access_token, body.expires_in);
  return saved.hash || '#/tenants';
}

// refresh asks for a new access token with the refresh cookie; false if
// there is no live session.
export async function refresh() {
  try {
    const r = await fetch(base + '/auth/refresh', { method: 'POST', credentials: 'same-origin', headers: cookieHeaders });
    if (!r.ok) return false;
    const body = await r.json();
    keep(body.accessToken, body.expiresIn);
    return true;
  } catch { return false; }
}

// accessToken returns a live access token, refreshing or signing in again
// as needed.
export async function accessToken() {
  if (token && Date.now() < token.exp) return token.access;
  if (await refresh()) return token.access;
  return signIn();
}

export function forget() { token = null; }

// signOut ends the operator's session and their broker session
// ("everywhere"), then goes back to the console, which asks them to sign in.
export async function signOut() {
  try {
    await fetch(base + '/auth/logout', { method: 'POST', credentials: 'same-origin',
      headers: { ...cookieHeaders, 'Content-Type': 'application/json' }, body: JSON.stringify({ everywhere: true }) });
  } finally {
    token = null;
    location.assign(base + '/admin/');
  }
}
