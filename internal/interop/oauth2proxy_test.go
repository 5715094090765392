package interop_test

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestOAuth2ProxySignIn: a browser sent to the proxy signs in through the
// broker and its upstream and reaches the app as the broker's user.
func TestOAuth2ProxySignIn(t *testing.T) {
	t.Parallel()
	bin := proxyBinary(t)
	addr := freeAddr(t)
	b := newBroker(t, "http://"+addr+"/oauth2/callback", "5m")
	p := startProxy(t, bin, b, addr, newApp(t).URL)

	br, status, body := signIn(t, b, p, alice)
	got := appSaw(t, status, body)
	for _, hop := range []string{
		b.issuer + "/authorize?",
		b.github.BaseURL() + "/login/oauth/authorize?",
		b.issuer + "/auth/github/callback?",
		p.url + "/oauth2/callback?",
	} {
		if !br.visited(hop) {
			t.Errorf("the sign-in never went to %s...; hops: %v", hop, br.hops)
		}
	}
	if got.Email != alice.Email {
		t.Errorf("X-Forwarded-Email = %q, want %q", got.Email, alice.Email)
	}
	// preferred_username: the ID token's, with scope profile.
	if got.PreferredUsername != alice.Login {
		t.Errorf("X-Forwarded-Preferred-Username = %q, want %q", got.PreferredUsername, alice.Login)
	}
	// X-Forwarded-User is the ID token's sub: the broker's own opaque id,
	// the one /userinfo gives for the access token the proxy holds.
	st, sub := b.userinfo(got.AccessToken)
	if st != http.StatusOK {
		t.Fatalf("/userinfo with the proxy's access token: status %d, want 200", st)
	}
	if got.User == "" || got.User != sub {
		t.Errorf("X-Forwarded-User = %q, want the broker's sub %q", got.User, sub)
	}
	if got.User == alice.Subject {
		t.Errorf("X-Forwarded-User is the upstream's id %q, not the broker's", got.User)
	}
	if c := claims(t, got.AccessToken); c["iss"] != b.issuer || c["client_id"] != tenantID {
		t.Errorf("access token iss/client_id = %v/%v, want %s/%s", c["iss"], c["client_id"], b.issuer, tenantID)
	}

	// The proxy's cookie now carries the session: no trip to the broker.
	status, body = br.get(p.url + "/again")
	if again := appSaw(t, status, body); again.User != got.User || len(br.hops) != 0 {
		t.Errorf("second request: user %q after hops %v, want %q straight away", again.User, br.hops, got.User)
	}
}

// TestOAuth2ProxyBearer: with --skip-jwt-bearer-tokens, an API client
// that holds the broker's access token passes the proxy without a cookie:
// the proxy verifies it against the broker's discovery and JWKS (iss, aud
// = client_id, ES256) and reads its roles as groups. A token whose
// signature is broken does not pass.
func TestOAuth2ProxyBearer(t *testing.T) {
	t.Parallel()
	bin := proxyBinary(t)
	addr := freeAddr(t)
	b := newBroker(t, "http://"+addr+"/oauth2/callback", "5m")
	p := startProxy(t, bin, b, addr, newApp(t).URL,
		"--skip-jwt-bearer-tokens", "--oidc-groups-claim=roles", "--allowed-group=admin")
	_, status, body := signIn(t, b, p, alice)
	token := appSaw(t, status, body).AccessToken

	api := func(token string) (int, []byte) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, p.url+"/api", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		client := &http.Client{Timeout: timeout, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET /api: %v", err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, body
	}
	status, body = api(token)
	got := appSaw(t, status, body)
	if got.Email != alice.Email || !slices.Contains(strings.Split(got.Groups, ","), "admin") {
		t.Errorf("bearer request: email %q groups %q, want %q with admin", got.Email, got.Groups, alice.Email)
	}
	// Flip the signature's first character: same claims, no valid signature.
	i := strings.LastIndex(token, ".") + 1
	forged := token[:i] + map[bool]string{true: "B", false: "A"}[token[i] == 'A'] + token[i+1:]
	if status, body := api(forged); status == http.StatusOK {
		t.Errorf("forged bearer token: status 200, want a refusal; body: %.300s", body)
	}
}

// TestOAuth2ProxyRoles: the proxy reads the broker's roles claim as its
// groups and admits only holders of the role it names.
func TestOAuth2ProxyRoles(t *testing.T) {
	t.Parallel()
	bin := proxyBinary(t)
	addr := freeAddr(t)
	b := newBroker(t, "http://"+addr+"/oauth2/callback", "5m")
	p := startProxy(t, bin, b, addr, newApp(t).URL, "--oidc-groups-claim=roles", "--allowed-group=admin")

	_, status, body := signIn(t, b, p, alice)
	got := appSaw(t, status, body)
	if groups := strings.Split(got.Groups, ","); !slices.Contains(groups, "admin") {
		t.Errorf("X-Forwarded-Groups = %q, want admin among them", got.Groups)
	}

	br, status, body := signIn(t, b, p, bob)
	if status != http.StatusForbidden {
		t.Errorf("bob (no admin role): status %d, want 403; body: %.300s", status, body)
	}
	// The refusal is the proxy's group check, after a complete sign-in.
	if !br.visited(p.url + "/oauth2/callback?") {
		t.Errorf("bob never got back to the proxy's callback; hops: %v", br.hops)
	}
	if strings.Contains(string(body), `"access_token"`) {
		t.Errorf("bob reached the app: %.300s", body)
	}
}

// TestOAuth2ProxyRolesFollowRefresh: the broker applies the tenant's role
// rules again at every refresh; the proxy, which reads the user's groups
// from the ID token, should see the change at its next refresh. Here the
// operator takes the role admin away from alice (config.toml, restart)
// while she is signed in.
//
// The proxy takes groups from ID tokens only: the refresh that applies the
// new rules carries one (OIDC Core §12.2), and the proxy refuses alice.
func TestOAuth2ProxyRolesFollowRefresh(t *testing.T) {
	t.Parallel()
	bin := proxyBinary(t)
	addr := freeAddr(t)
	b := newBroker(t, "http://"+addr+"/oauth2/callback", "5m")
	p := startProxy(t, bin, b, addr, newApp(t).URL,
		"--oidc-groups-claim=roles", "--allowed-group=admin", "--cookie-refresh=1s", "--cookie-expire=1h")

	br, status, body := signIn(t, b, p, alice)
	first := appSaw(t, status, body)
	if !slices.Contains(strings.Split(first.Groups, ","), "admin") {
		t.Fatalf("X-Forwarded-Groups = %q, want admin among them", first.Groups)
	}
	b.restart("someone-else@acme.test")

	// Until the session is older than --cookie-refresh the proxy trusts
	// its cookie and passes the first access token; after the refresh it
	// refuses alice, or (the gap) passes a new access token.
	var got seen
	var hdr http.Header
	for deadline := time.Now().Add(timeout); ; time.Sleep(100 * time.Millisecond) {
		status, body, hdr = br.getOnce(p.url + "/")
		if status != http.StatusOK {
			break
		}
		if got = appSaw(t, status, body); got.AccessToken != first.AccessToken {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the proxy did not refresh within %s", timeout)
		}
	}
	switch status {
	case http.StatusForbidden:
		return // the proxy saw the new roles
	case http.StatusOK:
		roles, _ := claims(t, got.AccessToken)["roles"].([]any)
		t.Errorf("status 200 with groups %q (access token roles %v), want 403: alice is no longer admin", got.Groups, roles)
	default:
		t.Errorf("alice without the role admin: status %d (Location %q), want 403; body: %.300s", status, hdr.Get("Location"), body)
	}
}

// TestOAuth2ProxyCookieRefresh: with --cookie-refresh the proxy renews its
// session through the broker's refresh_token grant, and the user stays
// signed in after the first access token has expired. Two rounds: the
// broker has no reuse grace here, so a proxy that presented a spent
// refresh token would lose the session in the second.
//
// The proxy runs on the wall clock, so these waits are real: each round
// lasts the broker's access_ttl (2s).
func TestOAuth2ProxyCookieRefresh(t *testing.T) {
	t.Parallel()
	bin := proxyBinary(t)
	addr := freeAddr(t)
	b := newBroker(t, "http://"+addr+"/oauth2/callback", "2s")
	p := startProxy(t, bin, b, addr, newApp(t).URL, "--cookie-refresh=1s", "--cookie-expire=1h")

	br, status, body := signIn(t, b, p, alice)
	first := appSaw(t, status, body)
	sid := claims(t, first.AccessToken)["sid"]
	if sid == nil {
		t.Fatalf("access token has no sid: %v", claims(t, first.AccessToken))
	}
	prev := first
	for round := 1; round <= 2; round++ {
		// Once the broker refuses the access token the proxy holds, only
		// a refresh can give the app a live one.
		b.waitRefused(prev.AccessToken)
		// The proxy measures a session's age in whole seconds, so the
		// refresh may come a request or two later; none may sign the
		// user out.
		var got seen
		for deadline := time.Now().Add(timeout); ; time.Sleep(100 * time.Millisecond) {
			status, body, hdr := br.getOnce(p.url + "/")
			if status != http.StatusOK {
				t.Fatalf("round %d: status %d (Location %q), want 200: the user was signed out", round, status, hdr.Get("Location"))
			}
			if got = appSaw(t, status, body); got.AccessToken != prev.AccessToken {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("round %d: the app still gets the expired access token after %s: no refresh", round, timeout)
			}
		}
		if st, sub := b.userinfo(got.AccessToken); st != http.StatusOK || sub != first.User {
			t.Fatalf("round %d: /userinfo with the new access token: %d %q, want 200 %q", round, st, sub, first.User)
		}
		if c := claims(t, got.AccessToken); c["sid"] != sid {
			t.Errorf("round %d: new access token's sid %v, want the session %v: a refresh, not a new sign-in", round, c["sid"], sid)
		}
		if got.User != first.User || got.Email != first.Email {
			t.Errorf("round %d: user %q %q, want %q %q", round, got.User, got.Email, first.User, first.Email)
		}
		prev = got
	}
	if !p.logged("Refreshing session", 2) {
		t.Errorf("oauth2-proxy logged %d refreshes, want at least 2", strings.Count(p.out.String(), "Refreshing session"))
	}
}

// TestOAuth2ProxyBackendLogout: /oauth2/sign_out calls the broker's
// RP-initiated logout with the ID token as id_token_hint, which ends the
// broker session: its access token is refused, and the proxy cookie saved
// before signing out can no longer be refreshed.
func TestOAuth2ProxyBackendLogout(t *testing.T) {
	t.Parallel()
	bin := proxyBinary(t)
	addr := freeAddr(t)
	b := newBroker(t, "http://"+addr+"/oauth2/callback", "5m")
	p := startProxy(t, bin, b, addr, newApp(t).URL,
		"--backend-logout-url="+b.issuer+"/logout?id_token_hint={id_token}",
		"--cookie-refresh=1s", "--cookie-expire=1h")

	br, status, body := signIn(t, b, p, alice)
	got := appSaw(t, status, body)
	if st, _ := b.userinfo(got.AccessToken); st != http.StatusOK {
		t.Fatalf("/userinfo before sign-out: status %d, want 200", st)
	}
	stale := br.cookiesOf(p.url)

	status, _, hdr := br.getOnce(p.url + "/oauth2/sign_out")
	if status != http.StatusFound {
		t.Fatalf("/oauth2/sign_out: status %d, want 302", status)
	}
	if st, _ := b.userinfo(got.AccessToken); st != http.StatusUnauthorized {
		t.Errorf("/userinfo after sign-out: status %d, want 401: the broker session lives on", st)
	}

	// The cookie from before the sign-out still decrypts at the proxy; once
	// it is older than --cookie-refresh the proxy asks the broker for new
	// tokens, and the broker must refuse the ended session's refresh token.
	// It measures the age in whole seconds: poll until it stops answering
	// with the app.
	for deadline := time.Now().Add(timeout); ; time.Sleep(100 * time.Millisecond) {
		status, body, hdr = stale.getOnce(p.url + "/")
		if status != http.StatusOK || time.Now().After(deadline) {
			break
		}
	}
	if status != http.StatusFound || !strings.HasPrefix(hdr.Get("Location"), b.issuer+"/authorize?") {
		t.Errorf("stale cookie after sign-out: status %d Location %q, want 302 to the broker's /authorize; body: %.300s",
			status, hdr.Get("Location"), body)
	}
	if !p.logged("invalid_grant", 1) {
		t.Errorf("oauth2-proxy did not report the broker's invalid_grant for the old refresh token")
	}
	// Checked last, when the proxy's output of the sign-out has long been
	// copied: every failure of its backend logout says "backend logout".
	if strings.Contains(p.out.String(), "backend logout") {
		t.Errorf("oauth2-proxy reports a failed backend logout")
	}
}
