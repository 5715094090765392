package server_test

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestUnregisteredRedirectURI: a refused redirect_uri is logged at info
// with the tenant, the URI sent and the nearest registered one; the page
// names the app and where to register the address, links back to the
// app's registered home, and never echoes the address sent.
func TestUnregisteredRedirectURI(t *testing.T) {
	h := newHarness(t, noLimits)
	sent := "http://localhost:5173/callback" // registered: http://127.0.0.1:5173/callback
	for _, path := range []string{"/authorize", "/auth/google/login"} {
		t.Run(path, func(t *testing.T) {
			resp := h.newBrowser().get(h.authorizeURL(path, "spa", newPKCE(), url.Values{"redirect_uri": {sent}}))
			body, log := h.refusal(t, resp)
			text := html.UnescapeString(body)
			for _, want := range []string{"The SPA", `client_id "spa"`, "redirect_uris", `tenant "spa"`} {
				if !strings.Contains(text, want) {
					t.Errorf("page does not say %q:\n%s", want, text)
				}
			}
			if strings.Contains(text, "localhost") {
				t.Errorf("page echoes the address sent:\n%s", text)
			}
			wantAppLink(t, body, "The SPA")
			want := map[string]any{"level": "INFO", "msg": "redirect_uri not registered", "tenant": "spa",
				"redirect_uri": sent, "nearest_registered": appRedirect, "status": float64(400)}
			for k, v := range want {
				if log[k] != v {
					t.Errorf("log %s = %v, want %v (line %v)", k, log[k], v, log)
				}
			}
		})
	}
}

// TestBackAfterSignIn: Back to the upstream's page after signing in and
// picking again replays a spent state. The page says so once, links back
// to the app the sign-in was for, and its reference is in the log.
func TestBackAfterSignIn(t *testing.T) {
	h := newHarness(t, noLimits)
	b := h.newBrowser()
	up := b.upstreamRedirect(h.authorizeURL("/auth/google/login", "spa", newPKCE(), nil))
	pick := up.String() + "&login_as=" + alice.Subject
	callbackURL := func() string {
		resp := b.get(pick)
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("fake Google: status %d, want 302 to the callback", resp.StatusCode)
		}
		return resp.Header.Get("Location")
	}
	resp := b.get(callbackURL())
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, appRedirect+"?") {
		t.Fatalf("first callback: %d to %q, want the app", resp.StatusCode, loc)
	}
	body, log := h.refusal(t, b.get(callbackURL())) // Back, pick again
	text := html.UnescapeString(body)
	if !strings.Contains(text, "already used or has expired") {
		t.Errorf("page does not say the sign-in link was used:\n%s", text)
	}
	if strings.Count(strings.ToLower(text), "sign in again")+strings.Count(strings.ToLower(text), "signing in again") > 1 {
		t.Errorf("page says twice to start again:\n%s", text)
	}
	wantAppLink(t, body, "The SPA")
	if log["tenant"] != "spa" || log["provider"] != "google" || log["level"] != "INFO" {
		t.Errorf("log line %v, want tenant spa, provider google at INFO", log)
	}
}

// TestLogoutNamesWhatIsMissing: a post_logout_redirect_uri, registered,
// but neither id_token_hint nor client_id: the page says which app is
// missing, not that the address is unregistered.
func TestLogoutNamesWhatIsMissing(t *testing.T) {
	h := newHarness(t, noLimits)
	q := url.Values{"post_logout_redirect_uri": {appHome}}
	body, _ := h.refusal(t, h.newBrowser().get(h.issuer+"/logout?"+q.Encode()))
	text := html.UnescapeString(body)
	if strings.Contains(text, "not registered") || !strings.Contains(text, "id_token_hint") || !strings.Contains(text, "client_id") {
		t.Errorf("page does not say that id_token_hint or client_id is missing:\n%s", text)
	}
	// Named by client_id, the same address is accepted.
	q.Set("client_id", "spa")
	resp := h.newBrowser().get(h.issuer + "/logout?" + q.Encode())
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != appHome {
		t.Errorf("with client_id: %d to %q, want 302 to %s", resp.StatusCode, resp.Header.Get("Location"), appHome)
	}
	// An address the app did not register: the page links back to the app.
	q.Set("post_logout_redirect_uri", appHome+"elsewhere")
	body, _ = h.refusal(t, h.newBrowser().get(h.issuer+"/logout?"+q.Encode()))
	wantAppLink(t, body, "The SPA")
}
