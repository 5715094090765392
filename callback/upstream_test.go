package callback_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/socialbroker/broker/internal/server/servertest"
)

// A callback's upstream work has one deadline, upstream_timeout (1 s
// here), not one per call: three calls of 450 ms each (code exchange,
// keys, userinfo), each well inside the per-call bound, add up past it.
func TestCallbackHasOneUpstreamDeadline(t *testing.T) {
	h := servertest.New(t, "")
	b := h.NewBrowser()
	p := servertest.NewPKCE()
	h.SetNextUser("corp", servertest.Bob)
	up := b.UpstreamRedirect(h.AuthorizeURL("/auth/corp/login", "spa", p, nil))
	h.Corp.SetDelay(450 * time.Millisecond)
	q := b.Follow(up.String())
	if q.Get("error") != "temporarily_unavailable" || q.Get("code") != "" {
		t.Fatalf("callback over a slow upstream: %v, want temporarily_unavailable", q)
	}
}

func TestUpstreamFaults(t *testing.T) {
	h := servertest.New(t, "")
	for _, tt := range []struct {
		name  string
		fault func()
	}{
		{"down", func() { h.Google.SetDown(true) }},
		{"slow", func() { h.Google.SetDelay(30 * time.Second) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			defer h.Google.Reset()
			b := h.NewBrowser()
			p := servertest.NewPKCE()
			h.Google.SetNextUser(servertest.Alice)
			cb := b.UpstreamCallback(h, h.AuthorizeURL("/auth/google/login", "spa", p, nil))
			tt.fault()
			// upstream_timeout is 1s: the answer is a clear error redirect,
			// not a hung request (the browser's own timeout is 10s).
			resp := b.Get(cb.String())
			resp.Body.Close()
			loc, _ := url.Parse(resp.Header.Get("Location"))
			if resp.StatusCode != http.StatusFound || loc == nil || loc.Query().Get("error") != "temporarily_unavailable" || loc.Query().Get("state") != p.State {
				t.Fatalf("status %d Location %q, want error=temporarily_unavailable", resp.StatusCode, resp.Header.Get("Location"))
			}
		})
	}
}
