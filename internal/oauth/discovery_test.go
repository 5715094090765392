package oauth_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/socialbroker/broker/internal/server/servertest"
)

// TestSpoofedHostChangesNothing: the broker names itself by its configured
// issuer only; Host and X-Forwarded-* from the request never reach a URL,
// a redirect or a token.
func TestSpoofedHostChangesNothing(t *testing.T) {
	h := servertest.New(t, servertest.NoLimits)
	spoof := func(req *http.Request) {
		req.Host = "evil.test"
		req.Header.Set("X-Forwarded-Host", "evil.test")
		req.Header.Set("X-Forwarded-Proto", "https")
		req.Header.Set("X-Forwarded-Prefix", "/evil")
		req.Header.Set("Forwarded", "host=evil.test;proto=https")
		req.Header.Set("X-Original-URL", "/evil")
	}
	b := h.NewBrowser()
	get := func(u string) *http.Response {
		t.Helper()
		req := servertest.MustRequest(t, http.MethodGet, u)
		spoof(req)
		resp, err := b.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	p := servertest.NewPKCE()
	h.Google.SetNextUser(servertest.Alice)
	up, _ := url.Parse(get(h.AuthorizeURL("/auth/google/login", "spa", p, nil)).Header.Get("Location"))
	if got, want := up.Query().Get("redirect_uri"), h.Issuer+"/auth/google/callback"; got != want {
		t.Fatalf("upstream redirect_uri = %q, want %q", got, want)
	}
	cb, _ := url.Parse(get(up.String()).Header.Get("Location"))
	loc, _ := url.Parse(get(cb.String()).Header.Get("Location"))
	if loc == nil || loc.Query().Get("iss") != h.Issuer || loc.Query().Get("code") == "" {
		t.Fatalf("app redirect %v, want iss=%s and a code", loc, h.Issuer)
	}
	req, _ := http.NewRequest(http.MethodPost, h.Issuer+"/token", strings.NewReader(url.Values{
		"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")}, "redirect_uri": {servertest.AppRedirect},
		"client_id": {"spa"}, "code_verifier": {p.Verifier},
	}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	spoof(req)
	var tr servertest.TokenResponse
	if status := h.Do(req, &tr); status != http.StatusOK {
		t.Fatalf("redeem: %d %+v", status, tr)
	}
	for _, tok := range []string{tr.AccessToken, tr.IDToken} {
		if iss := servertest.PayloadOf(t, tok)["iss"]; iss != h.Issuer {
			t.Errorf("token iss = %v, want %s", iss, h.Issuer)
		}
	}
	req = servertest.MustRequest(t, http.MethodGet, h.Issuer+"/.well-known/openid-configuration")
	spoof(req)
	var disc map[string]any
	h.Do(req, &disc)
	for k, v := range disc {
		if s, ok := v.(string); ok && strings.Contains(s, "evil") {
			t.Errorf("discovery %s = %q", k, s)
		}
	}
}

func TestDiscovery(t *testing.T) {
	h := servertest.New(t, "")
	for _, path := range []string{"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"} {
		var doc map[string]any
		if status := h.Do(servertest.MustRequest(t, http.MethodGet, h.Issuer+path), &doc); status != http.StatusOK {
			t.Fatalf("%s: status %d", path, status)
		}
		if doc["issuer"] != h.Issuer || doc["token_endpoint"] != h.Issuer+"/token" || doc["jwks_uri"] != h.Issuer+"/.well-known/jwks.json" {
			t.Errorf("%s: %v", path, doc)
		}
		if m, _ := doc["code_challenge_methods_supported"].([]any); len(m) != 1 || m[0] != "S256" {
			t.Errorf("%s: code_challenge_methods_supported = %v, want [S256]", path, m)
		}
		if doc["authorization_response_iss_parameter_supported"] != true {
			t.Errorf("%s: RFC 9207 support not advertised", path)
		}
	}
}
