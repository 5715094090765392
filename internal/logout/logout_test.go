package logout_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/socialbroker/broker/internal/server/servertest"
	"github.com/socialbroker/broker/tokens/jwstest"
)

// TestPostLogoutSeeOther: RP-initiated logout by POST form (OIDC
// RP-Initiated Logout §2) answers 303, so the browser follows with a GET
// and never re-posts the form (RFC 9700 §4.12); GET answers 302.
func TestPostLogoutSeeOther(t *testing.T) {
	h := servertest.New(t, "")
	tr := h.SignIn("google", "spa", servertest.Alice)
	resp := postBrowserForm(t, h.Issuer+"/logout", url.Values{"id_token_hint": {tr.IDToken}, "post_logout_redirect_uri": {servertest.AppLogout}, "state": {"xyz"}})
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != servertest.AppLogout+"?state=xyz" {
		t.Fatalf("POST /logout: %d Location %q, want 303 to %s?state=xyz", resp.StatusCode, resp.Header.Get("Location"), servertest.AppLogout)
	}
	if status, _ := h.GetBearer("/auth/check", tr.AccessToken, nil); status != http.StatusUnauthorized {
		t.Errorf("check after POST /logout: %d, want 401", status)
	}
	other := h.SignIn("google", "spa", servertest.Alice)
	resp = h.NewBrowser().Get(h.Issuer + "/logout?" + url.Values{"id_token_hint": {other.IDToken}, "post_logout_redirect_uri": {servertest.AppLogout}}.Encode())
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Errorf("GET /logout: %d, want 302", resp.StatusCode)
	}
	resp = postBrowserForm(t, h.Issuer+"/logout", url.Values{})
	body := servertest.ReadAll(t, resp)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "signed out") {
		t.Errorf("POST /logout without parameters: %d, want the signed-out page", resp.StatusCode)
	}
}

// TestLogoutNamesWhatIsMissing: a post_logout_redirect_uri, registered,
// but neither id_token_hint nor client_id: the page says which app is
// missing, not that the address is unregistered.
func TestLogoutNamesWhatIsMissing(t *testing.T) {
	h := servertest.New(t, servertest.NoLimits)
	q := url.Values{"post_logout_redirect_uri": {servertest.AppHome}}
	body, _ := h.Refusal(t, h.NewBrowser().Get(h.Issuer+"/logout?"+q.Encode()))
	text := html.UnescapeString(body)
	if strings.Contains(text, "not registered") || !strings.Contains(text, "id_token_hint") || !strings.Contains(text, "client_id") {
		t.Errorf("page does not say that id_token_hint or client_id is missing:\n%s", text)
	}
	// Named by client_id, the same address is accepted.
	q.Set("client_id", "spa")
	resp := h.NewBrowser().Get(h.Issuer + "/logout?" + q.Encode())
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != servertest.AppHome {
		t.Errorf("with client_id: %d to %q, want 302 to %s", resp.StatusCode, resp.Header.Get("Location"), servertest.AppHome)
	}
	// An address the app did not register: the page links back to the app.
	q.Set("post_logout_redirect_uri", servertest.AppHome+"elsewhere")
	body, _ = h.Refusal(t, h.NewBrowser().Get(h.Issuer+"/logout?"+q.Encode()))
	servertest.WantAppLink(t, body, "The SPA")
}

// TestPostLogoutRedirectHostile: RP-initiated logout redirects only to a
// post_logout_redirect_uri registered byte for byte for the tenant the
// hint names, over GET and POST alike.
func TestPostLogoutRedirectHostile(t *testing.T) {
	h := servertest.New(t, servertest.NoLimits)
	tr := h.SignIn("google", "spa", servertest.Alice)
	for name, uri := range servertest.HostileURIs(servertest.AppLogout) {
		if uri == "" {
			continue // no post_logout_redirect_uri: the signed-out page (TestPostLogoutSeeOther)
		}
		t.Run(name, func(t *testing.T) {
			q := url.Values{"id_token_hint": {tr.IDToken}, "post_logout_redirect_uri": {uri}, "state": {"s"}}
			servertest.RefusedPage(t, h.NewBrowser().Get(h.Issuer+"/logout?"+q.Encode()))
			servertest.RefusedPage(t, postBrowserForm(t, h.Issuer+"/logout", q))
			q.Del("id_token_hint")
			q.Set("client_id", "spa")
			servertest.RefusedPage(t, h.NewBrowser().Get(h.Issuer+"/logout?"+q.Encode()))
		})
	}
	t.Run("repeated post_logout_redirect_uri", func(t *testing.T) {
		u := h.Issuer + "/logout?" + url.Values{"client_id": {"spa"}, "post_logout_redirect_uri": {servertest.AppLogout, "https://evil.test/"}}.Encode()
		servertest.RefusedPage(t, h.NewBrowser().Get(u))
	})
	t.Run("hint forged by the attacker", func(t *testing.T) {
		attacker, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		claims := servertest.PayloadOf(t, tr.IDToken)
		forged := jwstest.SignES256(attacker, map[string]any{"alg": "ES256", "typ": "JWT", "kid": "attacker"}, claims)
		q := url.Values{"id_token_hint": {forged}, "post_logout_redirect_uri": {servertest.AppLogout}}
		servertest.RefusedPage(t, h.NewBrowser().Get(h.Issuer+"/logout?"+q.Encode()))
	})
	t.Run("registered URI of another tenant", func(t *testing.T) {
		other := h.SignInConfidential(servertest.Alice)
		q := url.Values{"id_token_hint": {other.IDToken}, "post_logout_redirect_uri": {servertest.AppLogout}}
		servertest.RefusedPage(t, h.NewBrowser().Get(h.Issuer+"/logout?"+q.Encode()))
	})
}

// postBrowserForm posts a form as a browser's form submission would,
// without following the answer.
func postBrowserForm(t *testing.T, u string, form url.Values) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/html")
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func TestEndSession(t *testing.T) {
	h := servertest.New(t, "")
	tr := h.SignIn("google", "spa", servertest.Alice)
	b := h.NewBrowser()

	evil := b.Get(h.Issuer + "/logout?" + url.Values{"id_token_hint": {tr.IDToken}, "post_logout_redirect_uri": {"https://evil.test/"}}.Encode())
	servertest.PageRefusal(t, evil, http.StatusBadRequest)
	noHint := b.Get(h.Issuer + "/logout?" + url.Values{"post_logout_redirect_uri": {"http://127.0.0.1:5173/"}}.Encode())
	servertest.PageRefusal(t, noHint, http.StatusBadRequest)

	resp := b.Get(h.Issuer + "/logout?" + url.Values{"id_token_hint": {tr.IDToken}, "post_logout_redirect_uri": {"http://127.0.0.1:5173/"}, "state": {"xyz"}}.Encode())
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "http://127.0.0.1:5173/?state=xyz" {
		t.Fatalf("logout: %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if status, _ := h.GetBearer("/auth/check", tr.AccessToken, nil); status != http.StatusUnauthorized {
		t.Errorf("check after RP-initiated logout: %d, want 401", status)
	}
}

// oidc-client-ts and most RP libraries keep the sign-in's ID token and
// send it as id_token_hint at logout, however long the session has lived
// and however many times the signing key rotated meanwhile (refresh
// grants issue no new ID token). A retired key must keep verifying hints
// for as long as a session may live.
func TestLogoutHintOutlivesKeyRotation(t *testing.T) {
	h := servertest.New(t, "")
	tr := h.SignIn("google", "spa", servertest.Alice)
	h.Clock.Advance(20 * 24 * time.Hour)
	next, status := h.RefreshGrant("spa", tr.RefreshToken) // keeps the session alive
	if status != http.StatusOK {
		t.Fatalf("refresh on day 20: %d %+v", status, next)
	}
	h.Clock.Advance(15 * 24 * time.Hour)
	// Each replica refreshes the keys as it starts: the first publishes a
	// new key (the old one is near key_rotation), the second, once the new
	// key has been published long enough (a tenth of key_rotation), signs
	// with it and retires the old one, the third loads what is still in
	// force two hours later.
	h.AddReplica()
	h.Clock.Advance(4 * 24 * time.Hour)
	h.AddReplica()
	h.Clock.Advance(2 * time.Hour)
	h.Issuer = h.AddReplica()

	resp := h.NewBrowser().Get(h.Issuer + "/logout?" + url.Values{"id_token_hint": {tr.IDToken}, "post_logout_redirect_uri": {"http://127.0.0.1:5173/"}}.Encode())
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("logout with a 39-day-old hint: status %d, want a redirect back to the app", resp.StatusCode)
	}
	if _, status := h.RefreshGrant("spa", next.RefreshToken); status != http.StatusBadRequest {
		t.Errorf("refresh after logout: status %d, want 400: the session must have ended", status)
	}
}

// TestLogoutWithoutHintAsks: any site can send a browser to /logout, and
// its top-level GET carries the broker session's SameSite=Lax cookie.
// Without id_token_hint the broker asks before it ends the session, and
// only its own confirmation form, bound to that session, ends it.
func TestLogoutWithoutHintAsks(t *testing.T) {
	h := servertest.New(t, "")
	b, tr, signedIn := browserSignIn(t, h)

	link := h.Issuer + "/logout?" + url.Values{"client_id": {"spa"}, "post_logout_redirect_uri": {servertest.AppLogout}, "state": {"s1"}}.Encode()
	page := b.Get(link)
	body := servertest.ReadAll(t, page)
	page.Body.Close()
	if page.StatusCode != http.StatusOK || !strings.Contains(body, "Sign out?") || !strings.Contains(body, `href="`+servertest.AppHome+`"`) {
		t.Fatalf("GET /logout without a hint: %d, want the confirmation page with the way back:\n%s", page.StatusCode, body)
	}
	if !signedIn() {
		t.Fatal("the link alone ended the broker session")
	}
	// A form another page posts (same site, so the cookie comes along)
	// cannot know the confirmation value.
	forged := url.Values{"client_id": {"spa"}, "post_logout_redirect_uri": {servertest.AppLogout}, "confirm": {"AAAA"}}
	req, _ := http.NewRequest(http.MethodPost, h.Issuer+"/logout", strings.NewReader(forged.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := b.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !signedIn() {
		t.Fatalf("forged confirmation: %d, want the confirmation page again and the session kept", resp.StatusCode)
	}

	resp = b.ConfirmLogout(h.Issuer, b.Get(link))
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != servertest.AppLogout+"?state=s1" {
		t.Fatalf("confirmed: %d Location %q, want 303 to %s?state=s1", resp.StatusCode, resp.Header.Get("Location"), servertest.AppLogout)
	}
	if signedIn() {
		t.Error("the broker session outlived the confirmed sign-out")
	}
	if status, _ := h.GetBearer("/auth/check", tr.AccessToken, nil); status != http.StatusUnauthorized {
		t.Errorf("the app session it started: check %d, want 401", status)
	}
}

// TestLogoutHintOfAnotherUserAsks: an id_token_hint proves that an app
// asked to end *its* user's sessions, not the browser's. Anyone can get
// an ID token of their own (sign in to any app), so a link to /logout
// with the attacker's hint must not end the victim browser's broker
// session unasked (logout CSRF around the confirmation page; RP-Initiated
// Logout §2: a hint that does not match the session is suspect, "the OP
// SHOULD ask").
func TestLogoutHintOfAnotherUserAsks(t *testing.T) {
	h := servertest.New(t, "")
	victim, tr, signedIn := browserSignIn(t, h)
	attacker := h.SignIn("google", "spa", servertest.Bob)

	link := h.Issuer + "/logout?" + url.Values{"id_token_hint": {attacker.IDToken}, "post_logout_redirect_uri": {servertest.AppLogout}}.Encode()
	resp := victim.Get(link)
	body := servertest.ReadAll(t, resp)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Sign out?") {
		t.Errorf("another user's hint: %d, want the confirmation page", resp.StatusCode)
	}
	if !signedIn() {
		t.Fatal("a link with another user's id_token_hint ended the browser's broker session unasked")
	}
	if status, _ := h.GetBearer("/auth/check", tr.AccessToken, nil); status != http.StatusOK {
		t.Errorf("the victim's app session: check %d, want 200", status)
	}
	// The hint's own sessions end: its app asked.
	if status, _ := h.GetBearer("/auth/check", attacker.AccessToken, nil); status != http.StatusUnauthorized {
		t.Errorf("the hint's session: check %d, want 401", status)
	}
	// Confirmed, the form returns where the hint's app asked.
	resp = victim.ConfirmLogout(h.Issuer, victim.Get(link))
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != servertest.AppLogout {
		t.Errorf("confirmed: %d Location %q, want 303 to %s", resp.StatusCode, resp.Header.Get("Location"), servertest.AppLogout)
	}
	if signedIn() {
		t.Error("the broker session outlived the confirmed sign-out")
	}
}

// TestLogoutOwnHintNeedsNoQuestion: the browser's own user's hint ends
// its broker session at once, as apps that send hints expect.
func TestLogoutOwnHintNeedsNoQuestion(t *testing.T) {
	h := servertest.New(t, "")
	b, tr, signedIn := browserSignIn(t, h)
	resp := b.Get(h.Issuer + "/logout?" + url.Values{"id_token_hint": {tr.IDToken}, "post_logout_redirect_uri": {servertest.AppLogout}}.Encode())
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != servertest.AppLogout {
		t.Fatalf("own hint: %d Location %q, want 302 to %s", resp.StatusCode, resp.Header.Get("Location"), servertest.AppLogout)
	}
	if signedIn() {
		t.Error("the broker session outlived the logout")
	}
}

// browserSignIn signs Alice in to spa in a new browser and returns it, her
// tokens, and a probe of whether the browser still has a broker session
// (prompt=none answers with a code).
func browserSignIn(t *testing.T, h *servertest.Harness) (*servertest.Browser, servertest.TokenResponse, func() bool) {
	t.Helper()
	b := h.NewBrowser()
	p := servertest.NewPKCE()
	q := h.Login(b, "google", "spa", servertest.Alice, p)
	tr, status := h.Redeem("spa", q.Get("code"), p.Verifier)
	if status != http.StatusOK {
		t.Fatalf("redeem: %d", status)
	}
	signedIn := func() bool {
		t.Helper()
		q := b.Follow(h.AuthorizeURL("/authorize", "spa", servertest.NewPKCE(), url.Values{"prompt": {"none"}}))
		return q.Get("code") != ""
	}
	return b, tr, signedIn
}

// TestLogoutConfirmedOnAnotherReplica: the confirmation form shown by one
// replica is accepted by another (the key is the database's, not one
// replica's).
func TestLogoutConfirmedOnAnotherReplica(t *testing.T) {
	h := servertest.New(t, "")
	b, _, signedIn := browserSignIn(t, h)
	other := h.AddReplica()
	resp := b.ConfirmLogout(other, b.Get(h.Issuer+"/logout"))
	body := servertest.ReadAll(t, resp)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "signed out") {
		t.Fatalf("confirmed on another replica: %d, want the signed-out page:\n%s", resp.StatusCode, body)
	}
	if signedIn() {
		t.Error("the broker session outlived a sign-out confirmed on another replica")
	}
}
