package authn_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/socialbroker/broker/internal/server/servertest"
)

// clientCall is one authenticated call at an endpoint where clients
// authenticate: Basic credentials, or client_secret_post when post is set.
func clientCall(h *servertest.Harness, path, id, secret string, post bool) servertest.Reply {
	h.T.Helper()
	form := url.Values{"token": {"not-a-token"}}
	if path == "/token" {
		form = url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"not-a-token"}}
	}
	if post {
		form.Set("client_id", id)
		form.Set("client_secret", secret)
	}
	req, _ := http.NewRequest(http.MethodPost, h.Issuer+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if !post {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	return h.Call(http.DefaultClient, req)
}

// TestClientAuthFailureBudget: wrong secrets for one client_id, at /token,
// /revoke and /introspect together and from any address, spend one
// budget of failures (RFC 6749 §2.3.1, §10.10); once it is spent that
// client_id gets 429 with Retry-After, even with its right secret (which
// is not checked), until the bucket refills. Successes spend nothing;
// public clients and made-up client_ids have no budget.
func TestClientAuthFailureBudget(t *testing.T) {
	// Only the failure budget limits here (default: 20 a minute).
	h := servertest.New(t, "[rate_limits]\ntoken_per_ip = \"0\"\ntoken_per_tenant = \"0\"\n")
	paths := []string{"/introspect", "/revoke", "/token"}
	for i := range 20 {
		r := clientCall(h, paths[i%3], "server", "guess-"+strconv.Itoa(i), i%2 == 0)
		if r.Status != http.StatusUnauthorized {
			t.Fatalf("guess %d at %s: %d, want 401 invalid_client: %s", i+1, paths[i%3], r.Status, r.Body)
		}
	}
	for _, path := range paths {
		for _, secret := range []string{"guess", servertest.ConfidentialSecret} {
			r := clientCall(h, path, "server", secret, false)
			servertest.Limited(t, r, 3)
			servertest.JSONLimited(t, r)
		}
	}
	if n := strings.Count(h.Logs.String(), "client authentication failures exceeded"); n != 1 {
		t.Errorf("the lock-out is logged %d times, want once", n)
	}

	// Public clients have no secret to guess, hence no budget that
	// someone sending them secrets could spend; made-up ids have none.
	for i := range 30 {
		if r := clientCall(h, "/revoke", "spa", "guess-"+strconv.Itoa(i), true); r.Status != http.StatusUnauthorized {
			t.Fatalf("secret %d for a public client: %d, want 401", i+1, r.Status)
		}
	}
	if r := clientCall(h, "/revoke", "spa", "", true); r.Status != http.StatusOK {
		t.Errorf("the public client: %d, want 200", r.Status)
	}
	for i := range 50 {
		if r := clientCall(h, "/introspect", "made-up", "guess-"+strconv.Itoa(i), false); r.Status != http.StatusUnauthorized {
			t.Fatalf("unknown client, guess %d: %d, want 401", i+1, r.Status)
		}
	}

	// Refilled: the right secret works, and successes spend nothing.
	h.Clock.Advance(3 * time.Second)
	for i := range 30 {
		if r := clientCall(h, paths[i%3], "server", servertest.ConfidentialSecret, i%2 == 0); r.Status == http.StatusTooManyRequests || r.Status == http.StatusUnauthorized {
			t.Fatalf("right secret %d at %s after the refill: %d: %s", i+1, paths[i%3], r.Status, r.Body)
		}
	}
	if r := clientCall(h, "/introspect", "server", "guess", false); r.Status != http.StatusUnauthorized {
		t.Errorf("one guess after the refill: %d, want 401", r.Status)
	}
	servertest.Limited(t, clientCall(h, "/introspect", "server", servertest.ConfidentialSecret, false), 3)
}

// TestClientEndpointsShareOneLimit: /token, /revoke and /introspect spend
// one per-address budget (and one per-tenant budget), so that a guesser
// cannot move on to the next endpoint when one refuses.
func TestClientEndpointsShareOneLimit(t *testing.T) {
	tests := []struct {
		name, limits string
		from         func(i int) *http.Client
	}{
		{"per address", "token_per_ip = \"3/m\"\ntoken_per_tenant = \"0\"", func(int) *http.Client { return servertest.From("127.0.0.1") }},
		{"per tenant", "token_per_ip = \"0\"\ntoken_per_tenant = \"3/m\"", func(i int) *http.Client { return servertest.From("127.0.0." + strconv.Itoa(20+i)) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := servertest.New(t, "[rate_limits]\n"+tt.limits+"\n")
			call := func(i int, path string) servertest.Reply {
				form := url.Values{"token": {"not-a-token"}, "client_id": {"server"}, "client_secret": {servertest.ConfidentialSecret}}
				req, _ := http.NewRequest(http.MethodPost, h.Issuer+path, strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				return h.Call(tt.from(i), req)
			}
			for i, path := range []string{"/token", "/revoke", "/introspect"} {
				if r := call(i, path); r.Status == http.StatusTooManyRequests {
					t.Fatalf("request %d at %s: 429 within the budget", i+1, path)
				}
			}
			for i, path := range []string{"/introspect", "/revoke", "/token"} {
				r := call(3+i, path)
				servertest.Limited(t, r, 20)
				servertest.JSONLimited(t, r)
			}
		})
	}
}
