package callback_test

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

// TestPagesNoOpenRedirect: no parameter makes a broker page link or
// redirect to an address it names: the hosted chooser carries hostile
// values only as escaped query parameters of its own links, and error
// pages never echo them.
func TestPagesNoOpenRedirect(t *testing.T) {
	h := servertest.New(t, servertest.NoLimits)
	hostile := url.Values{
		"state":      {`"><a href="https://evil.test/">x</a>`},
		"login_hint": {"https://evil.test/"},
		"nonce":      {"javascript:alert(1)"},
		"scope":      {`openid "><script>alert(1)</script>`},
		"prompt":     {"login"},
	}
	t.Run("chooser", func(t *testing.T) {
		resp := h.NewBrowser().Get(h.AuthorizeURL("/authorize", "spa", servertest.NewPKCE(), hostile))
		body := servertest.ReadAll(t, resp)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Location") != "" {
			t.Fatalf("chooser: %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		for _, m := range servertest.LinkAttr.FindAllStringSubmatch(body, -1) {
			if target := m[1]; !strings.HasPrefix(target, "/auth/") && !strings.HasPrefix(target, "/assets/") {
				t.Errorf("chooser links to %q", target)
			}
		}
		if strings.Contains(body, `<a href="https://evil.test/">`) || strings.Contains(body, "<script>alert") {
			t.Error("chooser echoes markup unescaped")
		}
		if got := len(servertest.LinkAttr.FindAllString(body, -1)); got < 3 {
			t.Errorf("chooser has %d links, want the buttons", got)
		}
	})
	t.Run("provider path segment", func(t *testing.T) {
		for _, seg := range []string{"https:%2F%2Fevil.test", "..%2F..%2Fevil", "%2F%2Fevil.test", "google%23", "GOOGLE"} {
			resp := h.NewBrowser().Get(h.AuthorizeURL("/auth/"+seg+"/login", "spa", servertest.NewPKCE(), nil))
			body := servertest.ReadAll(t, resp)
			resp.Body.Close()
			loc := resp.Header.Get("Location")
			if resp.StatusCode < 300 || (loc != "" && !strings.HasPrefix(loc, servertest.AppRedirect+"?")) {
				t.Errorf("provider %q: %d Location %q", seg, resp.StatusCode, loc)
			}
			servertest.NoForeignLinks(t, body)
		}
	})
	t.Run("callback error page", func(t *testing.T) {
		q := url.Values{"state": {"forged"}, "error": {"access_denied"},
			"error_description": {`<a href="https://evil.test/">Continue</a>`}, "error_uri": {"https://evil.test/"}}
		servertest.RefusedPage(t, h.NewBrowser().Get(h.Issuer+"/auth/google/callback?"+q.Encode()))
	})
	t.Run("upstream error description is not relayed", func(t *testing.T) {
		b := h.NewBrowser()
		h.Google.SetNextUser(servertest.Alice)
		cb := b.UpstreamCallback(h, h.AuthorizeURL("/auth/google/login", "spa", servertest.NewPKCE(), nil))
		q := cb.Query()
		q.Del("code")
		q.Set("error", "access_denied")
		q.Set("error_description", "go to https://evil.test/")
		q.Set("error_uri", "https://evil.test/")
		cb.RawQuery = q.Encode()
		resp := b.Get(cb.String())
		resp.Body.Close()
		loc := resp.Header.Get("Location")
		if !strings.HasPrefix(loc, servertest.AppRedirect+"?") || strings.Contains(loc, "evil") {
			t.Fatalf("Location %q, want the app with the broker's own description", loc)
		}
	})
}
