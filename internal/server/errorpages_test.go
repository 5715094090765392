package server_test

import (
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/socialbroker/broker/internal/server/servertest"
)

// TestUnregisteredRedirectURI: a refused redirect_uri is logged at info
// with the tenant, the URI sent and the nearest registered one; the page
// names the app and where to register the address, links back to the
// app's registered home, and never echoes the address sent.
func TestUnregisteredRedirectURI(t *testing.T) {
	h := servertest.New(t, servertest.NoLimits)
	sent := "http://localhost:5173/callback" // registered: http://127.0.0.1:5173/callback
	for _, path := range []string{"/authorize", "/auth/google/login"} {
		t.Run(path, func(t *testing.T) {
			resp := h.NewBrowser().Get(h.AuthorizeURL(path, "spa", servertest.NewPKCE(), url.Values{"redirect_uri": {sent}}))
			body, log := h.Refusal(t, resp)
			text := html.UnescapeString(body)
			for _, want := range []string{"The SPA", `client_id "spa"`, "redirect_uris", `tenant "spa"`} {
				if !strings.Contains(text, want) {
					t.Errorf("page does not say %q:\n%s", want, text)
				}
			}
			if strings.Contains(text, "localhost") {
				t.Errorf("page echoes the address sent:\n%s", text)
			}
			servertest.WantAppLink(t, body, "The SPA")
			want := map[string]any{"level": "INFO", "msg": "redirect_uri not registered", "tenant": "spa",
				"redirect_uri": sent, "nearest_registered": servertest.AppRedirect, "status": float64(400)}
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
	h := servertest.New(t, servertest.NoLimits)
	b := h.NewBrowser()
	up := b.UpstreamRedirect(h.AuthorizeURL("/auth/google/login", "spa", servertest.NewPKCE(), nil))
	pick := up.String() + "&login_as=" + servertest.Alice.Subject
	callbackURL := func() string {
		resp := b.Get(pick)
		resp.Body.Close()
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("fake Google: status %d, want 302 to the callback", resp.StatusCode)
		}
		return resp.Header.Get("Location")
	}
	resp := b.Get(callbackURL())
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, servertest.AppRedirect+"?") {
		t.Fatalf("first callback: %d to %q, want the app", resp.StatusCode, loc)
	}
	body, log := h.Refusal(t, b.Get(callbackURL())) // Back, pick again
	text := html.UnescapeString(body)
	if !strings.Contains(text, "already used or has expired") {
		t.Errorf("page does not say the sign-in link was used:\n%s", text)
	}
	if strings.Count(strings.ToLower(text), "sign in again")+strings.Count(strings.ToLower(text), "signing in again") > 1 {
		t.Errorf("page says twice to start again:\n%s", text)
	}
	servertest.WantAppLink(t, body, "The SPA")
	if log["tenant"] != "spa" || log["provider"] != "google" || log["level"] != "INFO" {
		t.Errorf("log line %v, want tenant spa, provider google at INFO", log)
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
