package httpx_test

import (
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/socialbroker/broker/internal/server/servertest"
)

// TestOversizeRequests: oversize input is refused cheaply with a 4xx,
// never a 500 and never after work: a 1 MB Authorization header stops at
// the server's header limit, a 9 KB token at the token size check, a
// 1 MB body at the body limit.
func TestOversizeRequests(t *testing.T) {
	h := servertest.New(t, servertest.NoLimits)
	huge := strings.Repeat("A", 1<<20)
	for _, path := range []string{"/auth/check", "/auth/me", "/userinfo"} {
		req := servertest.MustRequest(t, http.MethodGet, h.Issuer+path)
		req.Header.Set("Authorization", "Bearer "+huge)
		if status := statusOf(t, req); status != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("%s with a 1 MB Authorization header: status %d, want 431", path, status)
		}
	}
	req := servertest.MustRequest(t, http.MethodGet, h.Issuer+"/auth/check")
	req.Header.Set("Authorization", "Bearer "+strings.Repeat("A", 9<<10)+"."+strings.Repeat("A", 100)+".AAAA")
	if status := statusOf(t, req); status != http.StatusUnauthorized {
		t.Errorf("9 KB token: status %d, want 401", status)
	}
	for _, path := range []string{"/token", "/introspect", "/revoke", "/auth/refresh", "/auth/logout"} {
		body := url.Values{"token": {huge}, "refreshToken": {huge}, "code": {huge}, "client_id": {"spa"}, "grant_type": {"authorization_code"}}.Encode()
		for _, ct := range []string{"application/x-www-form-urlencoded", "application/json"} {
			req, _ := http.NewRequest(http.MethodPost, h.Issuer+path, strings.NewReader(body))
			req.Header.Set("Content-Type", ct)
			if status := statusOf(t, req); status < 400 || status >= 500 {
				t.Errorf("%s with a 1 MB %s body: status %d, want 4xx", path, ct, status)
			}
		}
	}
	// Many small parameters, each under every per-value bound.
	many := url.Values{}
	for i := range 5000 {
		many.Set("p"+big.NewInt(int64(i)).String(), "x")
	}
	req, _ = http.NewRequest(http.MethodPost, h.Issuer+"/token", strings.NewReader(many.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if status := statusOf(t, req); status < 400 || status >= 500 {
		t.Errorf("/token with 5000 parameters: status %d, want 4xx", status)
	}
}

// statusOf does req and returns its status; a server that answers and
// closes before reading everything still counts as answering.
func statusOf(t *testing.T, req *http.Request) int {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}
