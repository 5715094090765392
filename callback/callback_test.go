package callback_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/socialbroker/broker/internal/server/servertest"
)

func TestCallbackStateRefusals(t *testing.T) {
	h := servertest.New(t, "")
	start := func() string { return h.AuthorizeURL("/auth/google/login", "spa", servertest.NewPKCE(), nil) }

	t.Run("missing state", func(t *testing.T) {
		b := h.NewBrowser()
		h.Google.SetNextUser(servertest.Alice)
		cb := b.UpstreamCallback(h, start())
		q := cb.Query()
		q.Del("state")
		cb.RawQuery = q.Encode()
		servertest.PageRefusal(t, b.Get(cb.String()), http.StatusBadRequest)
	})
	t.Run("replayed state", func(t *testing.T) {
		b := h.NewBrowser()
		h.Google.SetNextUser(servertest.Alice)
		cb := b.UpstreamCallback(h, start())
		first := b.Get(cb.String())
		first.Body.Close()
		if first.StatusCode != http.StatusFound {
			t.Fatalf("first callback: status %d", first.StatusCode)
		}
		servertest.PageRefusal(t, b.Get(cb.String()), http.StatusBadRequest)
	})
	t.Run("state from another browser", func(t *testing.T) {
		victim, attacker := h.NewBrowser(), h.NewBrowser()
		h.Google.SetNextUser(servertest.Alice)
		cb := attacker.UpstreamCallback(h, start())
		// Login CSRF: the attacker's callback URL opened in the victim's browser.
		servertest.PageRefusal(t, victim.Get(cb.String()), http.StatusBadRequest)
		// And the state is gone: the attacker cannot use it afterwards either.
		servertest.PageRefusal(t, attacker.Get(cb.String()), http.StatusBadRequest)
	})
	t.Run("state of a refused sign-in", func(t *testing.T) {
		// The user cancels at the upstream: the app hears access_denied,
		// and the state is spent, even though no session was started.
		b := h.NewBrowser()
		h.Google.SetNextUser(servertest.Alice)
		cb := b.UpstreamCallback(h, start())
		cancelled := *cb
		q := cb.Query()
		q.Del("code")
		q.Set("error", "access_denied")
		cancelled.RawQuery = q.Encode()
		resp := b.Get(cancelled.String())
		resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if loc == nil || loc.Query().Get("error") != "access_denied" {
			t.Fatalf("cancelled sign-in redirected to %q, want error=access_denied", resp.Header.Get("Location"))
		}
		servertest.PageRefusal(t, b.Get(cb.String()), http.StatusBadRequest)
	})
	t.Run("state for another provider", func(t *testing.T) {
		b := h.NewBrowser()
		h.Google.SetNextUser(servertest.Alice)
		cb := b.UpstreamCallback(h, start())
		cb.Path = "/auth/github/callback"
		servertest.PageRefusal(t, b.Get(cb.String()), http.StatusBadRequest)
	})
	t.Run("repeated parameter", func(t *testing.T) {
		b := h.NewBrowser()
		h.Google.SetNextUser(servertest.Alice)
		cb := b.UpstreamCallback(h, start())
		cb.RawQuery += "&code=other"
		servertest.PageRefusal(t, b.Get(cb.String()), http.StatusBadRequest)
	})
	t.Run("issuer mix-up", func(t *testing.T) {
		b := h.NewBrowser()
		h.Google.SetNextUser(servertest.Alice)
		cb := b.UpstreamCallback(h, start())
		q := cb.Query()
		q.Set("iss", h.Corp.URL())
		cb.RawQuery = q.Encode()
		resp := b.Get(cb.String())
		resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if loc == nil || loc.Query().Get("error") != "access_denied" || loc.Query().Get("code") != "" {
			t.Fatalf("callback with a foreign iss redirected to %q, want error=access_denied", resp.Header.Get("Location"))
		}
	})
}

// RFC 9207 §2.4: an upstream whose discovery promises iss in its
// authorization responses (corp's does) is believed only with it. A
// response without iss may come from another issuer the browser was sent
// to (a mix-up, RFC 9700 §4.4): refused before the code is exchanged.
func TestCallbackWithoutPromisedIss(t *testing.T) {
	h := servertest.New(t, "")
	for _, strip := range []bool{false, true} {
		b := h.NewBrowser()
		p := servertest.NewPKCE()
		h.SetNextUser("corp", servertest.Bob)
		up := b.UpstreamRedirect(h.AuthorizeURL("/auth/corp/login", "spa", p, nil))
		resp := b.Get(up.String())
		resp.Body.Close()
		back, err := url.Parse(resp.Header.Get("Location"))
		if err != nil || back.Query().Get("iss") != h.Corp.URL() {
			t.Fatalf("upstream answer %v: want a redirect carrying iss %s", back, h.Corp.URL())
		}
		if strip {
			q := back.Query()
			q.Del("iss")
			back.RawQuery = q.Encode()
		}
		q := b.Follow(back.String())
		switch {
		case !strip && q.Get("code") == "":
			t.Errorf("with iss: %v, want a code", q)
		case strip && (q.Get("error") != "access_denied" || q.Get("code") != ""):
			t.Errorf("without the promised iss: %v, want access_denied", q)
		}
	}
}
