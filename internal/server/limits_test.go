package server_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/socialbroker/broker/internal/config"
	"github.com/socialbroker/broker/internal/server/servertest"
)

// tokenRequest is a /token request with a made-up code for client.
func tokenRequest(h *servertest.Harness, client string, hdr http.Header) *http.Request {
	form := url.Values{"grant_type": {"authorization_code"}, "code": {"guess"}, "redirect_uri": {servertest.AppRedirect}, "code_verifier": {strings.Repeat("v", 43)}}
	if client != "" {
		form.Set("client_id", client)
	}
	req, _ := http.NewRequest(http.MethodPost, h.Issuer+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range hdr {
		req.Header[k] = v
	}
	return req
}

// TestRateLimitPerIP: /token from one address beyond token_per_ip gets 429
// with Retry-After; a spoofed X-Forwarded-For from an untrusted peer does
// not buy a fresh budget; another address is unaffected; time refills.
func TestRateLimitPerIP(t *testing.T) {
	h := servertest.New(t, "[rate_limits]\ntoken_per_ip = \"3/m\"\ntoken_per_tenant = \"0\"\n")
	me := servertest.From("127.0.0.1")
	for i := range 3 {
		if r := h.Call(me, tokenRequest(h, "spa", nil)); r.Status != http.StatusBadRequest {
			t.Fatalf("request %d: %d, want 400 invalid_grant", i+1, r.Status)
		}
	}
	r := h.Call(me, tokenRequest(h, "spa", nil))
	servertest.Limited(t, r, 20)
	servertest.JSONLimited(t, r)
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("429 Cache-Control %q", r.Header.Get("Cache-Control"))
	}
	spoofed := h.Call(me, tokenRequest(h, "spa", http.Header{"X-Forwarded-For": {"198.51.100.7"}, "X-Real-Ip": {"198.51.100.7"}, "Forwarded": {"for=198.51.100.7"}}))
	servertest.Limited(t, spoofed, 20)
	if r := h.Call(servertest.From("127.0.0.2"), tokenRequest(h, "spa", nil)); r.Status != http.StatusBadRequest {
		t.Errorf("another address: %d, want 400", r.Status)
	}
	logs := h.Logs.String()
	if !strings.Contains(logs, `"msg":"rate limit exceeded","limit":"token","ip":"127.0.0.1"`) {
		t.Errorf("the refusal is not logged with the peer's address:\n%s", logs)
	}
	if strings.Contains(logs, "198.51.100.7") {
		t.Error("the logs name the spoofed address")
	}
	h.Clock.Advance(20 * time.Second)
	if r := h.Call(me, tokenRequest(h, "spa", nil)); r.Status != http.StatusBadRequest {
		t.Errorf("after Retry-After: %d, want 400", r.Status)
	}
}

// TestRateLimitPerTenant: one tenant's budget is shared by every address;
// other tenants and made-up client_ids are unaffected.
func TestRateLimitPerTenant(t *testing.T) {
	h := servertest.New(t, "[rate_limits]\ntoken_per_ip = \"0\"\ntoken_per_tenant = \"3/m\"\n")
	for i := range 3 {
		if r := h.Call(servertest.From("127.0.0."+strconv.Itoa(2+i)), tokenRequest(h, "spa", nil)); r.Status != http.StatusBadRequest {
			t.Fatalf("request %d: %d, want 400", i+1, r.Status)
		}
	}
	servertest.Limited(t, h.Call(servertest.From("127.0.0.9"), tokenRequest(h, "spa", nil)), 20)
	// The client named in a JSON body or in Basic credentials counts too.
	req, _ := http.NewRequest(http.MethodPost, h.Issuer+"/token", strings.NewReader(`{"grant_type":"refresh_token","refresh_token":"x","client_id":"spa"}`))
	req.Header.Set("Content-Type", "application/json")
	servertest.Limited(t, h.Call(servertest.From("127.0.0.10"), req), 20)
	if r := h.Call(servertest.From("127.0.0.9"), tokenRequest(h, "orgs", nil)); r.Status != http.StatusBadRequest {
		t.Errorf("another tenant: %d, want 400", r.Status)
	}
	basic := http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte("server:wrong"))}}
	for i := range 3 {
		if r := h.Call(servertest.From("127.0.0.11"), tokenRequest(h, "", basic)); r.Status != http.StatusUnauthorized {
			t.Fatalf("secret guess %d: %d, want 401", i+1, r.Status)
		}
	}
	servertest.Limited(t, h.Call(servertest.From("127.0.0.12"), tokenRequest(h, "", basic)), 20)
	for i := range 10 {
		if r := h.Call(servertest.From("127.0.0.13"), tokenRequest(h, "made-up-"+strconv.Itoa(i), nil)); r.Status != http.StatusUnauthorized {
			t.Fatalf("unknown client %d: %d, want 401 invalid_client", i, r.Status)
		}
	}
}

// TestRateLimitLoginAndRefresh: the login starts answer a browser page,
// /auth/refresh a JSON body that the app's origin may read (CORS).
func TestRateLimitLoginAndRefresh(t *testing.T) {
	h := servertest.New(t, "[rate_limits]\nlogin_per_ip = \"2/m\"\nrefresh_per_ip = \"2/m\"\n")
	b := h.NewBrowser()
	for _, path := range []string{"/authorize", "/auth/google/login"} {
		resp := b.Get(h.AuthorizeURL(path, "spa", servertest.NewPKCE(), nil))
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusFound {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
	}
	resp := b.Get(h.AuthorizeURL("/auth/github/login", "spa", servertest.NewPKCE(), nil))
	r := servertest.Reply{Status: resp.StatusCode, Header: resp.Header, Body: servertest.ReadAll(t, resp)}
	resp.Body.Close()
	servertest.Limited(t, r, 30)
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") || r.Header.Get("Location") != "" || !strings.Contains(r.Body, "Too many sign-in attempts") {
		t.Errorf("login refusal: %q Location %q, want an HTML page and no redirect", r.Header.Get("Content-Type"), r.Header.Get("Location"))
	}

	refresh := func() servertest.Reply {
		req, _ := http.NewRequest(http.MethodPost, h.Issuer+"/auth/refresh", strings.NewReader(`{"refreshToken":"x.y"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Origin", "http://127.0.0.1:5173")
		return h.Call(http.DefaultClient, req)
	}
	refresh()
	refresh()
	r = refresh()
	servertest.Limited(t, r, 30)
	servertest.JSONLimited(t, r)
	if r.Header.Get("Access-Control-Allow-Origin") != "http://127.0.0.1:5173" {
		t.Errorf("429 without CORS: the app cannot read it")
	}
}

// TestTrustedProxies: X-Forwarded-For is believed from a trusted proxy,
// as far as trusted hops wrote it, and from no one else.
func TestTrustedProxies(t *testing.T) {
	h := servertest.New(t, "[rate_limits]\ntoken_per_ip = \"2/m\"\ntoken_per_tenant = \"0\"\n").
		Variant(func(c *config.Config) { c.TrustedProxies = []string{"127.0.0.1"} })
	proxy, direct := servertest.From("127.0.0.1"), servertest.From("127.0.0.2")
	xff := func(v string) http.Header { return http.Header{"X-Forwarded-For": {v}} }

	h.Call(proxy, tokenRequest(h, "spa", xff("198.51.100.1")))
	h.Call(proxy, tokenRequest(h, "spa", xff("198.51.100.1")))
	servertest.Limited(t, h.Call(proxy, tokenRequest(h, "spa", xff("198.51.100.1"))), 30)
	// The same client behind a chain of trusted hops, or with a forged
	// left part, is still that client.
	servertest.Limited(t, h.Call(proxy, tokenRequest(h, "spa", xff("198.51.100.1, 127.0.0.1"))), 30)
	servertest.Limited(t, h.Call(proxy, tokenRequest(h, "spa", xff("203.0.113.9, 198.51.100.1"))), 30)
	if r := h.Call(proxy, tokenRequest(h, "spa", xff("198.51.100.2"))); r.Status != http.StatusBadRequest {
		t.Errorf("another client behind the proxy: %d, want 400", r.Status)
	}
	if !strings.Contains(h.Logs.String(), `"ip":"198.51.100.1"`) {
		t.Error("the client behind the proxy is not the logged address")
	}
	if strings.Contains(h.Logs.String(), "203.0.113.9") {
		t.Error("a forged hop reached the logs")
	}

	// An untrusted peer's X-Forwarded-For is ignored: no fresh budget per header.
	h.Call(direct, tokenRequest(h, "spa", xff("198.51.100.3")))
	h.Call(direct, tokenRequest(h, "spa", xff("198.51.100.4")))
	servertest.Limited(t, h.Call(direct, tokenRequest(h, "spa", xff("198.51.100.5"))), 30)
}
