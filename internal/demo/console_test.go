package demo

import (
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/socialbroker/broker/tokens"
)

// TestDemoConsole: the demo page links to the admin console, and Alice,
// signing in to it through the fake Google as its page does, is an
// operator whom the admin API serves.
func TestDemoConsole(t *testing.T) {
	d := startDemo(t, "127.0.0.1:0", Options{})
	origin := strings.TrimSuffix(d.URL, "/demo/")
	jar, _ := cookiejar.New(nil)
	b := &http.Client{Jar: jar, Timeout: 10 * time.Second}
	get := func(u string) (*http.Response, string) {
		t.Helper()
		resp, err := b.Get(u)
		if err != nil {
			t.Fatalf("GET %s: %v", u, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(body)
	}
	if _, page := get(d.URL); !strings.Contains(page, `href="/admin/"`) {
		t.Error("the demo page does not link to the admin console")
	}

	verifier := tokens.NewOpaque()
	redirect := origin + "/admin/callback"
	u := origin + "/auth/google/login?" + url.Values{
		"response_type": {"code"}, "client_id": {"broker-console"}, "redirect_uri": {redirect}, "state": {"st"},
		"code_challenge": {tokens.S256Challenge(verifier)}, "code_challenge_method": {"S256"}, "scope": {"openid email profile"},
	}.Encode()
	var cb *url.URL
	for range 3 {
		resp, body := get(u)
		if resp.Request.URL.Path == "/admin/callback" {
			cb = resp.Request.URL
			break
		}
		m := chooserLink.FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("GET %s ended at %s: %d, not the fake's chooser", u, resp.Request.URL, resp.StatusCode)
		}
		next, _ := resp.Request.URL.Parse(html.UnescapeString(m[1]))
		u = next.String()
	}
	if cb == nil || cb.Query().Get("code") == "" {
		t.Fatalf("the console's sign-in ended at %v", cb)
	}
	req, _ := http.NewRequest("POST", origin+"/token", strings.NewReader(url.Values{
		"grant_type": {"authorization_code"}, "code": {cb.Query().Get("code")}, "redirect_uri": {redirect},
		"client_id": {"broker-console"}, "code_verifier": {verifier},
	}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", origin)
	req.Header.Set("X-Broker-CSRF", "1")
	resp, err := b.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	if resp.StatusCode != 200 || tok.AccessToken == "" {
		t.Fatalf("console token: %d", resp.StatusCode)
	}
	req, _ = http.NewRequest("GET", origin+"/admin/v1/tenants", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	resp, err = b.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"id":"demo"`) {
		t.Errorf("GET /admin/v1/tenants as Alice: %d %.300s", resp.StatusCode, body)
	}
}
