package server_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

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

func TestCodeRefusals(t *testing.T) {
	h := servertest.New(t, "")
	login := func(client string) (url.Values, servertest.PKCE) {
		p := servertest.NewPKCE()
		return h.Login(h.NewBrowser(), "google", client, servertest.Alice, p), p
	}

	t.Run("replay revokes what the first use issued", func(t *testing.T) {
		q, p := login("spa")
		first, status := h.Redeem("spa", q.Get("code"), p.Verifier)
		if status != http.StatusOK {
			t.Fatalf("first redemption: %d %+v", status, first)
		}
		second, status := h.Redeem("spa", q.Get("code"), p.Verifier)
		if status != http.StatusBadRequest || second.Error != "invalid_grant" {
			t.Fatalf("replay: %d %+v, want 400 invalid_grant", status, second)
		}
		if status, _ := h.GetBearer("/auth/check", first.AccessToken, nil); status != http.StatusUnauthorized {
			t.Errorf("access token of a replayed code: status %d, want 401", status)
		}
		if _, status := h.RefreshGrant("spa", first.RefreshToken); status != http.StatusBadRequest {
			t.Errorf("refresh token of a replayed code: status %d, want 400", status)
		}
	})
	t.Run("wrong verifier", func(t *testing.T) {
		q, _ := login("spa")
		tr, status := h.Redeem("spa", q.Get("code"), servertest.NewPKCE().Verifier)
		if status != http.StatusBadRequest || tr.Error != "invalid_grant" {
			t.Fatalf("%d %+v, want 400 invalid_grant", status, tr)
		}
	})
	t.Run("another client", func(t *testing.T) {
		q, p := login("spa")
		tr, status := h.Redeem("orgs", q.Get("code"), p.Verifier)
		if status != http.StatusBadRequest || tr.Error != "invalid_grant" {
			t.Fatalf("%d %+v, want 400 invalid_grant", status, tr)
		}
	})
	t.Run("expired code", func(t *testing.T) {
		q, p := login("spa")
		h.Clock.Advance(2 * time.Minute)
		defer h.Clock.Advance(-2 * time.Minute)
		tr, status := h.Redeem("spa", q.Get("code"), p.Verifier)
		if status != http.StatusBadRequest || tr.Error != "invalid_grant" {
			t.Fatalf("%d %+v, want 400 invalid_grant", status, tr)
		}
	})
	t.Run("confidential client", func(t *testing.T) {
		redeem := func(q url.Values, p servertest.PKCE, hdr http.Header, form url.Values) (servertest.TokenResponse, int) {
			f := url.Values{"grant_type": {"authorization_code"}, "code": {q.Get("code")}, "redirect_uri": {servertest.AppRedirect}, "code_verifier": {p.Verifier}}
			for k, v := range form {
				f[k] = v
			}
			var tr servertest.TokenResponse
			return tr, h.PostForm("/token", f, hdr, &tr)
		}
		basic := func(id, secret string) http.Header {
			return http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))}}
		}
		q, p := login("server")
		if tr, status := redeem(q, p, basic("server", "wrong"), nil); status != http.StatusUnauthorized || tr.Error != "invalid_client" {
			t.Errorf("wrong secret (basic): %d %+v, want 401 invalid_client", status, tr)
		}
		q, p = login("server")
		if tr, status := redeem(q, p, nil, url.Values{"client_id": {"server"}}); status != http.StatusUnauthorized || tr.Error != "invalid_client" {
			t.Errorf("no secret: %d %+v, want 401 invalid_client", status, tr)
		}
		q, p = login("server")
		if tr, status := redeem(q, p, basic("server", servertest.ConfidentialSecret), nil); status != http.StatusOK {
			t.Errorf("client_secret_basic: %d %+v, want 200", status, tr)
		}
		q, p = login("server")
		if tr, status := redeem(q, p, nil, url.Values{"client_id": {"server"}, "client_secret": {servertest.ConfidentialSecret}}); status != http.StatusOK {
			t.Errorf("client_secret_post: %d %+v, want 200", status, tr)
		}
	})
	t.Run("unknown client", func(t *testing.T) {
		q, p := login("spa")
		tr, status := h.Redeem("nope", q.Get("code"), p.Verifier)
		if status != http.StatusUnauthorized || tr.Error != "invalid_client" {
			t.Fatalf("%d %+v, want 401 invalid_client", status, tr)
		}
	})
}

// forge returns token with its header replaced and re-signed by sign
// (nil: keep no signature).
func forge(t *testing.T, token string, header map[string]any, sign func(input string) []byte) string {
	t.Helper()
	parts := strings.Split(token, ".")
	hb, _ := json.Marshal(header)
	input := base64.RawURLEncoding.EncodeToString(hb) + "." + parts[1]
	if sign == nil {
		return input + "."
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sign(input))
}

func TestAccessTokenRefusals(t *testing.T) {
	h := servertest.New(t, "")
	tr := h.SignIn("google", "spa", servertest.Alice)

	var jwks struct {
		Keys []map[string]string `json:"keys"`
	}
	h.Do(servertest.MustRequest(t, http.MethodGet, h.Issuer+"/.well-known/jwks.json"), &jwks)
	pub, _ := json.Marshal(jwks.Keys[0])
	parts := strings.Split(tr.AccessToken, ".")
	tamperedPayload := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"someone-else"}`)) + "." + parts[2]
	sig := []byte(parts[2])
	sig[5] ^= 1
	tamperedSig := parts[0] + "." + parts[1] + "." + string(sig)
	hs256 := forge(t, tr.AccessToken, map[string]any{"alg": "HS256", "typ": "at+jwt", "kid": jwks.Keys[0]["kid"]}, func(in string) []byte {
		m := hmac.New(sha256.New, pub)
		m.Write([]byte(in))
		return m.Sum(nil)
	})
	cases := map[string]string{
		"tampered payload":         tamperedPayload,
		"tampered signature":       tamperedSig,
		"alg none":                 forge(t, tr.AccessToken, map[string]any{"alg": "none", "typ": "at+jwt"}, nil),
		"alg NONE":                 forge(t, tr.AccessToken, map[string]any{"alg": "NONE", "typ": "at+jwt", "kid": jwks.Keys[0]["kid"]}, nil),
		"HS256 keyed with the JWK": hs256,
		"ID token as access token": tr.IDToken,
		"refresh token":            tr.RefreshToken,
		"garbage":                  "not-a-token",
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			var check servertest.CheckResponse
			status, hdr := h.GetBearer("/auth/check", tok, &check)
			if status != http.StatusUnauthorized || check.Error != "invalid_token" || check.Authenticated {
				t.Fatalf("status %d %+v, want 401 invalid_token", status, check)
			}
			if !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Bearer ") {
				t.Errorf("WWW-Authenticate = %q", hdr.Get("WWW-Authenticate"))
			}
		})
	}

	t.Run("another tenant's token", func(t *testing.T) {
		for _, hdr := range []http.Header{{"X-Tenant-ID": {"server"}}, {"Origin": {"https://evil.test"}}} {
			req := servertest.MustRequest(t, http.MethodGet, h.Issuer+"/auth/me")
			req.Header.Set("Authorization", "Bearer "+tr.AccessToken)
			for k, v := range hdr {
				req.Header[k] = v
			}
			var body servertest.CheckResponse
			if status := h.Do(req, &body); status != http.StatusUnauthorized || body.Error != "invalid_token" {
				t.Errorf("with %v: status %d %+v, want 401 invalid_token", hdr, status, body)
			}
		}
	})
	t.Run("expired", func(t *testing.T) {
		h.Clock.Advance(6 * time.Minute)
		defer h.Clock.Advance(-6 * time.Minute)
		var check servertest.CheckResponse
		status, hdr := h.GetBearer("/auth/check", tr.AccessToken, &check)
		if status != http.StatusUnauthorized || check.Error != "token_expired" || check.Message != "TokenExpiredError" {
			t.Fatalf("status %d %+v, want 401 token_expired", status, check)
		}
		if !strings.Contains(hdr.Get("WWW-Authenticate"), `error="invalid_token"`) {
			t.Errorf("WWW-Authenticate = %q", hdr.Get("WWW-Authenticate"))
		}
	})
	t.Run("missing", func(t *testing.T) {
		var check servertest.CheckResponse
		if status := h.Do(servertest.MustRequest(t, http.MethodGet, h.Issuer+"/auth/check"), &check); status != http.StatusUnauthorized || check.Authenticated {
			t.Fatalf("status %d %+v, want 401", status, check)
		}
	})
}

func TestRefreshReuse(t *testing.T) {
	h := servertest.New(t, "")
	tr := h.SignIn("google", "spa", servertest.Alice)

	// Two tabs refresh with the same token at once: both get the same successor.
	a, status := h.RefreshGrant("spa", tr.RefreshToken)
	if status != http.StatusOK {
		t.Fatalf("first refresh: %d %+v", status, a)
	}
	b, status := h.RefreshGrant("spa", tr.RefreshToken)
	if status != http.StatusOK || b.RefreshToken != a.RefreshToken {
		t.Fatalf("reuse within grace: %d, successor %q, want the same %q", status, b.RefreshToken, a.RefreshToken)
	}
	if status, _ := h.GetBearer("/auth/check", b.AccessToken, nil); status != http.StatusOK {
		t.Fatalf("session revoked by a reuse inside the grace: check %d", status)
	}

	// The client goes on with its successor; after the grace, the stale
	// first token means theft: the family dies.
	if a, status = h.RefreshGrant("spa", a.RefreshToken); status != http.StatusOK {
		t.Fatalf("refresh with the successor: %d", status)
	}
	h.Clock.Advance(11 * time.Second)
	stale, status := h.RefreshGrant("spa", tr.RefreshToken)
	if status != http.StatusBadRequest || stale.Error != "invalid_grant" {
		t.Fatalf("reuse after grace: %d %+v, want 400 invalid_grant", status, stale)
	}
	if _, status := h.RefreshGrant("spa", a.RefreshToken); status != http.StatusBadRequest {
		t.Errorf("latest refresh token after theft detection: %d, want 400", status)
	}
	if status, _ := h.GetBearer("/auth/check", a.AccessToken, nil); status != http.StatusUnauthorized {
		t.Errorf("access token after theft detection: %d, want 401", status)
	}
}

func TestRefreshBoundToClient(t *testing.T) {
	h := servertest.New(t, "")
	tr := h.SignIn("google", "spa", servertest.Alice)
	if got, status := h.RefreshGrant("orgs", tr.RefreshToken); status != http.StatusBadRequest || got.Error != "invalid_grant" {
		t.Fatalf("refresh by another client: %d %+v, want invalid_grant", status, got)
	}
	if _, status := h.RefreshGrant("spa", tr.RefreshToken); status != http.StatusOK {
		t.Fatalf("the refused attempt must not spend the token: %d", status)
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
