// A plain app using oidc-client-ts's UserManager, as its documentation
// shows: authority = the broker's issuer (metadata by discovery), this
// origin's registered redirect and post-logout URIs, PKCE (the library's
// default for the code flow). `oidc` is the library's browser build.
const $ = (id) => document.getElementById(id);
const field = (id) => document.querySelector(`[data-testid="${id}"]`);

const config = await (await fetch("/config.json")).json();
const mgr = new oidc.UserManager({
  authority: config.authority,
  client_id: config.clientId,
  redirect_uri: location.origin + "/callback",
  post_logout_redirect_uri: location.origin + "/login",
  scope: "openid email profile offline_access",
  automaticSilentRenew: false,
  userStore: new oidc.WebStorageStateStore({ store: window.sessionStorage }),
});
window.mgr = mgr; // for the test's eyes only; the page itself works through the buttons
let renewals = 0;

function status(text, error = false) {
  $("status").textContent = text;
  $("status").className = error ? "error" : "";
}

// Tokens are shown shortened: enough to see them change, not to copy them.
const short = (t) => (t ? `${t.slice(0, 12)}…${t.slice(-8)} (${t.length} chars)` : "");

function render(user) {
  const p = user?.profile ?? {};
  field("sub").textContent = p.sub ?? "";
  field("email").textContent = p.email ?? "";
  field("name").textContent = p.name ?? "";
  field("iss").textContent = p.iss ?? "";
  field("expires").textContent = user?.expires_at ? new Date(user.expires_at * 1000).toISOString() : "";
  field("access-token").textContent = short(user?.access_token);
  field("refresh-token").textContent = short(user?.refresh_token);
  field("renewals").textContent = String(renewals);
}

async function run(label, f) {
  status(`${label}…`);
  try {
    await f();
  } catch (err) {
    // An ErrorResponse carries the OAuth error code apart from its description.
    status(`${label} failed: ${err?.error ? `${err.error}: ` : ""}${err?.message ?? err}`, true);
  }
}

$("signin").onclick = () =>
  run("Signing in", () => mgr.signinRedirect({ state: { returnTo: "/" }, nonce: crypto.randomUUID() }));

$("renew").onclick = () =>
  run("Renewing", async () => {
    const user = await mgr.signinSilent();
    renewals++;
    render(user);
    status(`Renewed: signed in as ${user.profile.email}`);
  });

$("userinfo").onclick = () =>
  run("Calling /userinfo", async () => {
    const user = await mgr.getUser();
    const endpoint = await mgr.metadataService.getUserInfoEndpoint();
    const res = await fetch(endpoint, { headers: { Authorization: `Bearer ${user?.access_token ?? ""}` } });
    field("userinfo").textContent = `${res.status} ${JSON.stringify(await res.json(), null, 2)}`;
    status(`/userinfo answered ${res.status}`, !res.ok);
  });

$("signout").onclick = () => run("Signing out", () => mgr.signoutRedirect({ state: { bye: "see you" } }));

await run("Starting", async () => {
  const params = new URLSearchParams(location.search);
  if (location.pathname === "/callback") {
    // signinCallback: a redirect sign-in here, or signinSilent's iframe
    // (prompt=none), which hands the answer to the page above and stops.
    const user = await mgr.signinCallback();
    if (!user) return;
    history.replaceState(null, "", user.state?.returnTo ?? "/");
    render(user);
    status(`Signed in as ${user.profile.email}`);
  } else if (location.pathname === "/login" && params.has("state")) {
    const res = await mgr.signoutRedirectCallback();
    render(await mgr.getUser());
    status(`Signed out (state came back: ${JSON.stringify(res.userState)})`);
  } else {
    const user = await mgr.getUser();
    render(user);
    status(user ? `Signed in as ${user.profile.email}` : "Signed out");
  }
});
