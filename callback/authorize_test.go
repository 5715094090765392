package callback_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/socialbroker/broker/internal/server/servertest"
)

// TestRedirectURIHostile: /authorize and /auth/{provider}/login with a
// redirect_uri that is not byte for byte registered show a page and never
// redirect (RFC 6749 §4.1.2.1, RFC 9700 §4.1.3).
func TestRedirectURIHostile(t *testing.T) {
	h := servertest.New(t, servertest.NoLimits)
	p := servertest.NewPKCE()
	for name, uri := range servertest.HostileURIs(servertest.AppRedirect) {
		for _, path := range []string{"/authorize", "/auth/google/login"} {
			t.Run(name+" "+path, func(t *testing.T) {
				servertest.RefusedPage(t, h.NewBrowser().Get(h.AuthorizeURL(path, "spa", p, url.Values{"redirect_uri": {uri}})))
			})
		}
	}
	t.Run("repeated redirect_uri", func(t *testing.T) {
		u := h.AuthorizeURL("/authorize", "spa", p, nil) + "&redirect_uri=" + url.QueryEscape("https://evil.test/")
		servertest.RefusedPage(t, h.NewBrowser().Get(u))
	})
	t.Run("repeated client_id", func(t *testing.T) {
		servertest.RefusedPage(t, h.NewBrowser().Get(h.AuthorizeURL("/authorize", "spa", p, nil)+"&client_id=orgs"))
	})
	t.Run("another tenant's redirect_uri", func(t *testing.T) {
		// Both tenants register appRedirect in the harness; a URI registered
		// only for another tenant is just as foreign.
		servertest.RefusedPage(t, h.NewBrowser().Get(h.AuthorizeURL("/authorize", "spa", p, url.Values{"redirect_uri": {servertest.AppLogout}})))
	})
}

// TestFlowParameterAttacks: repeated parameters, and response types that
// would put tokens in URLs.
func TestFlowParameterAttacks(t *testing.T) {
	h := servertest.New(t, servertest.NoLimits)
	for _, rt := range []string{"token", "id_token", "id_token token", "code token", "code id_token", "code id_token token", "none", "CODE", "code code"} {
		t.Run("response_type="+rt, func(t *testing.T) {
			p := servertest.NewPKCE()
			resp := h.NewBrowser().Get(h.AuthorizeURL("/authorize", "spa", p, url.Values{"response_type": {rt}, "response_mode": {"fragment"}}))
			resp.Body.Close()
			loc, err := url.Parse(resp.Header.Get("Location"))
			if resp.StatusCode != http.StatusFound || err != nil || !strings.HasPrefix(loc.String(), servertest.AppRedirect+"?") {
				t.Fatalf("%d Location %q, want an error redirect to the app", resp.StatusCode, resp.Header.Get("Location"))
			}
			q := loc.Query()
			if q.Get("error") != "unsupported_response_type" || loc.Fragment != "" || q.Has("code") || q.Has("access_token") || q.Has("id_token") || q.Has("token_type") {
				t.Errorf("redirect %q: want error=unsupported_response_type, no code, no token, no fragment", loc)
			}
		})
	}
	t.Run("repeated state at /authorize", func(t *testing.T) {
		resp := h.NewBrowser().Get(h.AuthorizeURL("/authorize", "spa", servertest.NewPKCE(), nil) + "&state=second")
		resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if loc == nil || loc.Query().Get("error") != "invalid_request" || loc.Query().Has("code") {
			t.Fatalf("Location %q, want error=invalid_request", resp.Header.Get("Location"))
		}
	})
	for _, param := range []string{"state", "iss", "code"} {
		t.Run("repeated "+param+" at the callback", func(t *testing.T) {
			b := h.NewBrowser()
			h.Google.SetNextUser(servertest.Alice)
			cb := b.UpstreamCallback(h, h.AuthorizeURL("/auth/google/login", "spa", servertest.NewPKCE(), nil))
			q := cb.Query()
			if param == "iss" {
				q.Set("iss", h.Google.URL())
			}
			cb.RawQuery = q.Encode() + "&" + param + "=" + url.QueryEscape(q.Get(param))
			servertest.PageRefusal(t, b.Get(cb.String()), http.StatusBadRequest)
		})
	}
	t.Run("expired state", func(t *testing.T) {
		b := h.NewBrowser()
		h.Google.SetNextUser(servertest.Alice)
		cb := b.UpstreamCallback(h, h.AuthorizeURL("/auth/google/login", "spa", servertest.NewPKCE(), nil))
		h.Clock.Advance(11 * time.Minute) // login_ttl is 10m
		defer h.Clock.Advance(-11 * time.Minute)
		servertest.PageRefusal(t, b.Get(cb.String()), http.StatusBadRequest)
	})
	t.Run("state of another tenant's flow at another provider", func(t *testing.T) {
		// A flow of tenant "orgs" (GitHub only) finished at Google's callback.
		b := h.NewBrowser()
		h.GitHub.SetNextUser(servertest.Alice)
		cb := b.UpstreamCallback(h, h.AuthorizeURL("/auth/github/login", "orgs", servertest.NewPKCE(), nil))
		cb.Path = "/auth/google/callback"
		servertest.PageRefusal(t, b.Get(cb.String()), http.StatusBadRequest)
	})
}

func TestAuthorizeRefusals(t *testing.T) {
	h := servertest.New(t, "")
	p := servertest.NewPKCE()
	pages := []struct {
		name  string
		extra url.Values
	}{
		{"unknown client", url.Values{"client_id": {"nope"}}},
		{"unregistered redirect", url.Values{"redirect_uri": {"http://127.0.0.1:5173/callback/"}}},
		{"redirect to another host", url.Values{"redirect_uri": {"https://evil.test/callback"}}},
		{"missing redirect", url.Values{"redirect_uri": {""}}},
	}
	for _, tt := range pages {
		t.Run(tt.name, func(t *testing.T) {
			servertest.PageRefusal(t, h.NewBrowser().Get(h.AuthorizeURL("/authorize", "spa", p, tt.extra)), http.StatusBadRequest)
		})
	}
	redirects := []struct {
		name, wantError string
		extra           url.Values
	}{
		{"plain PKCE", "invalid_request", url.Values{"code_challenge_method": {"plain"}}},
		{"PKCE method missing (means plain)", "invalid_request", url.Values{"code_challenge_method": {""}}},
		{"no PKCE for a public client", "invalid_request", url.Values{"code_challenge": {""}, "code_challenge_method": {""}}},
		{"malformed challenge", "invalid_request", url.Values{"code_challenge": {"short"}}},
		{"implicit flow", "unsupported_response_type", url.Values{"response_type": {"token"}}},
		{"provider not enabled", "invalid_request", url.Values{"provider": {"nope"}}},
		{"silent sign-in", "login_required", url.Values{"prompt": {"none"}}},
	}
	for _, tt := range redirects {
		t.Run(tt.name, func(t *testing.T) {
			resp := h.NewBrowser().Get(h.AuthorizeURL("/authorize", "spa", p, tt.extra))
			resp.Body.Close()
			loc, err := url.Parse(resp.Header.Get("Location"))
			if resp.StatusCode != http.StatusFound || err != nil || !strings.HasPrefix(loc.String(), servertest.AppRedirect+"?") {
				t.Fatalf("status %d Location %q, want 302 to the app", resp.StatusCode, resp.Header.Get("Location"))
			}
			q := loc.Query()
			if q.Get("error") != tt.wantError || q.Get("state") != p.State || q.Get("iss") != h.Issuer || q.Get("code") != "" {
				t.Errorf("redirect query %v, want error=%s with state and iss", q, tt.wantError)
			}
		})
	}
}
