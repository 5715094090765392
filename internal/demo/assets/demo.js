// The demo app: what a SPA does with the broker, in plain JavaScript.
// Tokens stay in memory; only the PKCE verifier and state survive the
// redirect, in sessionStorage, and are removed as soon as they are used.
const client = { id: "demo", redirect: location.origin + "/demo/callback" };
const $ = (id) => document.getElementById(id);
let tokens = null;

function log(msg, data) {
  const line = `[${new Date().toLocaleTimeString()}] ${msg}` + (data ? " " + JSON.stringify(data) : "");
  $("log").textContent = line + "\n" + $("log").textContent;
}

function b64url(bytes) {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}
function random() { return b64url(crypto.getRandomValues(new Uint8Array(32))); }
async function s256(v) { return b64url(new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(v)))); }

async function login(provider) {
  const verifier = random(), state = random(), nonce = random();
  sessionStorage.setItem("demo.pkce", JSON.stringify({ verifier, state, nonce }));
  const q = new URLSearchParams({
    response_type: "code", client_id: client.id, redirect_uri: client.redirect, scope: "openid email profile",
    state, nonce, code_challenge: await s256(verifier), code_challenge_method: "S256",
  });
  location.assign(provider ? `/auth/${provider}/login?${q}` : `/authorize?${q}`);
}

async function handleCallback() {
  const q = new URLSearchParams(location.search);
  const saved = JSON.parse(sessionStorage.getItem("demo.pkce") || "null");
  sessionStorage.removeItem("demo.pkce");
  history.replaceState(null, "", "/demo/");
  if (!saved || q.get("state") !== saved.state) { log("callback: state mismatch, ignored"); return; }
  if (q.get("iss") !== location.origin) { log("callback: unexpected issuer", { iss: q.get("iss") }); return; }
  if (q.get("error")) { log("sign-in refused", { error: q.get("error"), description: q.get("error_description") }); return; }
  const res = await fetch("/token", {
    method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "authorization_code", code: q.get("code"), redirect_uri: client.redirect, client_id: client.id, code_verifier: saved.verifier }),
  });
  const body = await res.json();
  if (!res.ok) { log("token request failed", body); return; }
  const id = decode(body.id_token);
  if (id && id.payload.nonce !== saved.nonce) { log("ID token nonce mismatch, discarded"); return; }
  tokens = { access: body.access_token, refresh: body.refresh_token, id: body.id_token };
  log("signed in", { scope: body.scope, expires_in: body.expires_in });
}

function initials(name) {
  return name.split(/[\s@.]+/).filter(Boolean).slice(0, 2).map((w) => w[0].toUpperCase()).join("");
}

function decode(jwt) {
  if (!jwt) return null;
  const part = (s) => JSON.parse(atob(s.replace(/-/g, "+").replace(/_/g, "/")));
  const [h, p] = jwt.split(".");
  return { header: part(h), payload: part(p) };
}

async function api(path, init = {}) {
  const res = await fetch(path, { ...init, headers: { ...(init.headers || {}), Authorization: `Bearer ${tokens.access}`, "X-Tenant-ID": client.id } });
  const body = await res.json();
  if (res.status === 401 && body.error === "token_expired" && !init.retried) {
    log("access token expired, refreshing");
    if (await refresh()) return api(path, { ...init, retried: true });
  }
  return { status: res.status, body };
}

async function refresh() {
  const res = await fetch("/auth/refresh", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ refreshToken: tokens.refresh }) });
  const body = await res.json();
  if (!res.ok) { log("refresh failed; signed out", body); tokens = null; render(); return false; }
  tokens = { ...tokens, access: body.accessToken, refresh: body.refreshToken };
  log("tokens refreshed", { expiresIn: body.expiresIn });
  await render();
  return true;
}

async function logout() {
  const res = await fetch("/auth/logout", { method: "POST", headers: { Authorization: `Bearer ${tokens.access}` } });
  log("logged out", await res.json());
  tokens = null;
  render();
}

async function render() {
  $("signed-out").hidden = !!tokens;
  $("signed-in").hidden = !tokens;
  if (!tokens) return;
  const me = await api("/auth/me");
  if (me.status !== 200) { log("/auth/me failed", me.body); return; }
  const perms = await api("/auth/permissions");
  $("name").textContent = me.body.name || me.body.id;
  $("email").textContent = `${me.body.email} ${me.body.emailVerified ? "(verified)" : "(unverified)"}`;
  $("roles").textContent = me.body.roles.join(", ") || "none";
  $("perms").textContent = (perms.body.permissions || []).join(", ") || "none";
  $("identities").textContent = me.body.identities.map((i) => `${i.provider}:${i.username || i.subject}`).join(", ");
  $("tenant").textContent = me.body.tenant;
  // Show the picture when the provider gave one, the initials otherwise; never
  // a previous user's picture.
  $("avatar").hidden = !me.body.avatar;
  if (me.body.avatar) $("avatar").src = me.body.avatar; else $("avatar").removeAttribute("src");
  $("initials").hidden = !!me.body.avatar;
  $("initials").textContent = initials(me.body.name || me.body.email || "?");
  const at = decode(tokens.access);
  $("access").textContent = JSON.stringify(at, null, 2);
  $("idtoken").textContent = tokens.id ? JSON.stringify(decode(tokens.id), null, 2) : "(none)";
  $("expiry").textContent = `Access token expires at ${new Date(at.payload.exp * 1000).toLocaleTimeString()}`;
}

$("login-any").addEventListener("click", (e) => { e.preventDefault(); login(); });
document.querySelectorAll("[data-provider]").forEach((a) => a.addEventListener("click", (e) => { e.preventDefault(); login(a.dataset.provider); }));
$("call-me").addEventListener("click", async () => log("/auth/me", (await api("/auth/me")).body));
$("refresh").addEventListener("click", refresh);
$("logout").addEventListener("click", logout);

(async () => {
  if (location.pathname === "/demo/callback") await handleCallback();
  await render();
})();
