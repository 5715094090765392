package server_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"maps"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/socialbroker/broker/internal/server/servertest"
	"github.com/socialbroker/broker/storage/sqlite"
	"github.com/socialbroker/broker/tokens/jwstest"
)

// The attacker's view of the broker: every input an attacker controls,
// at every endpoint that takes it. Each case names the defence it proves.

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

// TestPostLogoutRedirectHostile: RP-initiated logout redirects only to a
// post_logout_redirect_uri registered byte for byte for the tenant the
// hint names, over GET and POST alike.
func TestPostLogoutRedirectHostile(t *testing.T) {
	h := servertest.New(t, servertest.NoLimits)
	tr := h.SignIn("google", "spa", servertest.Alice)
	for name, uri := range servertest.HostileURIs(servertest.AppLogout) {
		if uri == "" {
			continue // no post_logout_redirect_uri: the signed-out page (TestPostLogout)
		}
		t.Run(name, func(t *testing.T) {
			q := url.Values{"id_token_hint": {tr.IDToken}, "post_logout_redirect_uri": {uri}, "state": {"s"}}
			servertest.RefusedPage(t, h.NewBrowser().Get(h.Issuer+"/logout?"+q.Encode()))
			servertest.RefusedPage(t, postBrowserForm(t, h.Issuer+"/logout", q))
			q.Del("id_token_hint")
			q.Set("client_id", "spa")
			servertest.RefusedPage(t, h.NewBrowser().Get(h.Issuer+"/logout?"+q.Encode()))
		})
	}
	t.Run("repeated post_logout_redirect_uri", func(t *testing.T) {
		u := h.Issuer + "/logout?" + url.Values{"client_id": {"spa"}, "post_logout_redirect_uri": {servertest.AppLogout, "https://evil.test/"}}.Encode()
		servertest.RefusedPage(t, h.NewBrowser().Get(u))
	})
	t.Run("hint forged by the attacker", func(t *testing.T) {
		attacker, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		claims := servertest.PayloadOf(t, tr.IDToken)
		forged := jwstest.SignES256(attacker, map[string]any{"alg": "ES256", "typ": "JWT", "kid": "attacker"}, claims)
		q := url.Values{"id_token_hint": {forged}, "post_logout_redirect_uri": {servertest.AppLogout}}
		servertest.RefusedPage(t, h.NewBrowser().Get(h.Issuer+"/logout?"+q.Encode()))
	})
	t.Run("registered URI of another tenant", func(t *testing.T) {
		other := h.SignInConfidential(servertest.Alice)
		q := url.Values{"id_token_hint": {other.IDToken}, "post_logout_redirect_uri": {servertest.AppLogout}}
		servertest.RefusedPage(t, h.NewBrowser().Get(h.Issuer+"/logout?"+q.Encode()))
	})
}

// postBrowserForm posts a form as a browser's form submission would,
// without following the answer.
func postBrowserForm(t *testing.T, u string, form url.Values) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/html")
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
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
	t.Run("repeated parameter at /token", func(t *testing.T) {
		p := servertest.NewPKCE()
		q := h.Login(h.NewBrowser(), "google", "spa", servertest.Alice, p)
		body := url.Values{"grant_type": {"authorization_code"}, "code": {q.Get("code"), "other"}, "redirect_uri": {servertest.AppRedirect},
			"client_id": {"spa"}, "code_verifier": {p.Verifier}}
		var tr servertest.TokenResponse
		if status := h.PostForm("/token", body, nil, &tr); status != http.StatusBadRequest || tr.Error != "invalid_request" {
			t.Fatalf("%d %+v, want 400 invalid_request", status, tr)
		}
	})
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

// --- Broker tokens under attack --------------------------------------------

// b64 is base64url without padding (RFC 7515 §2).
func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func signHS256(secret []byte, header, claims map[string]any) string {
	input := jwstest.Segment(header) + "." + jwstest.Segment(claims)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(input))
	return input + "." + b64(m.Sum(nil))
}

func headerOf(t *testing.T, tok string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	return m
}

// brokerKey reads the broker's own signing key from its database: an
// insider's capability, used to build tokens that are correctly signed
// but wrong in exactly one other way, so each refusal is proven to come
// from the check it names rather than from the signature.
func brokerKey(t *testing.T, h *servertest.Harness, kid string) *ecdsa.PrivateKey {
	t.Helper()
	path, ok := strings.CutPrefix(h.Cfg.Database.URL, "sqlite:")
	if !ok {
		t.Skip("the insider signer reads SQLite databases only")
	}
	store, err := sqlite.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	keys, err := store.ListKeys(context.Background(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if k.ID != kid {
			continue
		}
		p, err := x509.ParsePKCS8PrivateKey(k.PrivateKey)
		if err != nil {
			t.Fatal(err)
		}
		return p.(*ecdsa.PrivateKey)
	}
	t.Fatalf("key %s not in the database", kid)
	return nil
}

// tokenEndpoint is one endpoint that takes a broker access token.
type tokenEndpoint struct {
	name string
	// call presents tok and reports whether the broker accepted it.
	call func(t *testing.T, tok string, hdr http.Header) (accepted bool, status int, body string)
}

// tokenEndpoints lists every endpoint that accepts a broker access token.
func tokenEndpoints(h *servertest.Harness) []tokenEndpoint {
	bearer := func(method, path string) func(*testing.T, string, http.Header) (bool, int, string) {
		return func(t *testing.T, tok string, hdr http.Header) (bool, int, string) {
			req := servertest.MustRequest(t, method, h.Issuer+path)
			req.Header.Set("Authorization", "Bearer "+tok)
			if tid := servertest.TokenTenant(tok); tid != "" {
				req.Header.Set("X-Tenant-ID", tid) // as the token's own app
			}
			for k, v := range hdr {
				req.Header[k] = v
			}
			status, _, body := send(t, req)
			if status != http.StatusUnauthorized && status != http.StatusOK {
				t.Errorf("%s %s: status %d, want 401 (or 200): %.200s", method, path, status, body)
			}
			return status == http.StatusOK, status, body
		}
	}
	return []tokenEndpoint{
		{"GET /auth/check", bearer(http.MethodGet, "/auth/check")},
		{"GET /auth/me", bearer(http.MethodGet, "/auth/me")},
		{"GET /auth/permissions", bearer(http.MethodGet, "/auth/permissions")},
		{"GET /userinfo", bearer(http.MethodGet, "/userinfo")},
		{"POST /userinfo", bearer(http.MethodPost, "/userinfo")},
		{"POST /auth/logout", bearer(http.MethodPost, "/auth/logout")},
		{"POST /introspect", func(t *testing.T, tok string, hdr http.Header) (bool, int, string) {
			req, _ := http.NewRequest(http.MethodPost, h.Issuer+"/introspect", strings.NewReader(url.Values{"token": {tok}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(hdr.Get("X-Introspect-As"), servertest.ConfidentialSecret)
			status, _, body := send(t, req)
			var out struct {
				Active bool `json:"active"`
			}
			json.Unmarshal([]byte(body), &out)
			if status != http.StatusOK && status != http.StatusBadRequest {
				t.Errorf("introspect: status %d: %.200s", status, body)
			}
			return out.Active, status, body
		}},
	}
}

// send does req and returns its status, header and body.
func send(t *testing.T, req *http.Request) (int, http.Header, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// TestBrokerTokenAttacks presents forged, confused and malformed tokens to
// every endpoint that takes a broker access token (RFC 8725 §2, §3.1,
// §3.11; RFC 9068 §4).
func TestBrokerTokenAttacks(t *testing.T) {
	h := servertest.New(t, servertest.NoLimits)
	spa := h.SignIn("google", "spa", servertest.Alice)
	server := h.SignInConfidential(servertest.Alice)

	hdr := headerOf(t, spa.AccessToken)
	kid, _ := hdr["kid"].(string)
	claims := servertest.PayloadOf(t, spa.AccessToken)
	insider := brokerKey(t, h, kid)
	attacker, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)

	// The attacker's key server: jku and x5u must never be fetched.
	var fetched atomic.Int32
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetched.Add(1)
		w.Header().Set("Content-Type", "application/json")
		x, y := attacker.X.FillBytes(make([]byte, 32)), attacker.Y.FillBytes(make([]byte, 32))
		json.NewEncoder(w).Encode(map[string]any{"keys": []any{map[string]string{"kty": "EC", "crv": "P-256", "kid": "attacker", "x": b64(x), "y": b64(y)}}})
	}))
	defer evil.Close()
	attackerJWK := map[string]string{"kty": "EC", "crv": "P-256",
		"x": b64(attacker.X.FillBytes(make([]byte, 32))), "y": b64(attacker.Y.FillBytes(make([]byte, 32)))}

	// HS256 keyed with every encoding of the public key an attacker might
	// guess the verifier feeds to HMAC.
	var jwks struct {
		Keys []map[string]string `json:"keys"`
	}
	h.Do(servertest.MustRequest(t, http.MethodGet, h.Issuer+"/.well-known/jwks.json"), &jwks)
	jwkJSON, _ := json.Marshal(jwks.Keys[0])
	der, _ := x509.MarshalPKIXPublicKey(&insider.PublicKey)
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	point, _ := insider.PublicKey.ECDH()

	// changed is base with changes applied: a nil value removes the key.
	changed := func(base, changes map[string]any) map[string]any {
		c := maps.Clone(base)
		for k, v := range changes {
			if v == nil {
				delete(c, k)
			} else {
				c[k] = v
			}
		}
		return c
	}
	with := func(changes map[string]any) map[string]any { return changed(claims, changes) }
	head := func(changes map[string]any) map[string]any {
		return changed(map[string]any{"alg": "ES256", "typ": "at+jwt", "kid": kid}, changes)
	}
	now := time.Now().Unix()
	parts := strings.Split(spa.AccessToken, ".")
	unsigned := func(alg string, withKid bool) string {
		hd := map[string]any{"alg": alg, "typ": "at+jwt"}
		if withKid {
			hd["kid"] = kid
		}
		return jwstest.Segment(hd) + "." + parts[1] + "."
	}

	// The control: the insider signer makes tokens the broker accepts, so
	// every refusal below is about the one thing each case changes.
	control := jwstest.SignES256(insider, head(nil), claims)
	for _, ep := range tokenEndpoints(h) {
		if ep.name == "POST /auth/logout" || ep.name == "POST /introspect" {
			continue // logout would end the session; introspect is for confidential tenants
		}
		if ok, status, body := ep.call(t, control, nil); !ok {
			t.Fatalf("control token refused at %s: %d %s", ep.name, status, body)
		}
	}

	cases := map[string]string{
		// RFC 8725 §2.1, §3.1: algorithm confusion.
		"alg none":                      unsigned("none", false),
		"alg None with kid":             unsigned("None", true),
		"alg NONE with kid":             unsigned("NONE", true),
		"alg none with a signature":     unsigned("none", true) + parts[2],
		"alg empty":                     unsigned("", true),
		"HS256 keyed with the JWK":      signHS256(jwkJSON, head(map[string]any{"alg": "HS256"}), claims),
		"HS256 keyed with the PEM":      signHS256(pemKey, head(map[string]any{"alg": "HS256"}), claims),
		"HS256 keyed with the point":    signHS256(point.Bytes(), head(map[string]any{"alg": "HS256"}), claims),
		"HS256 keyed with the kid":      signHS256([]byte(kid), head(map[string]any{"alg": "HS256"}), claims),
		"RS256 header on our signature": jwstest.Segment(head(map[string]any{"alg": "RS256"})) + "." + parts[1] + "." + parts[2],
		"ES384 header on our signature": jwstest.Segment(head(map[string]any{"alg": "ES384"})) + "." + parts[1] + "." + parts[2],
		// Keys the attacker controls.
		"attacker key, our kid":     jwstest.SignES256(attacker, head(nil), claims),
		"attacker key, unknown kid": jwstest.SignES256(attacker, head(map[string]any{"kid": "attacker"}), claims),
		"attacker key, no kid":      jwstest.SignES256(attacker, head(map[string]any{"kid": nil}), claims),
		"kid path traversal":        signHS256(nil, head(map[string]any{"alg": "HS256", "kid": "../../../../../../dev/null"}), claims),
		"kid absolute path":         jwstest.SignES256(attacker, head(map[string]any{"kid": "/etc/passwd"}), claims),
		"kid SQL injection":         signHS256([]byte("key"), head(map[string]any{"alg": "HS256", "kid": "x' UNION SELECT 'key' --"}), claims),
		"kid SQL tautology":         jwstest.SignES256(attacker, head(map[string]any{"kid": "' OR '1'='1"}), claims),
		"kid not a string":          jwstest.SignES256(attacker, head(map[string]any{"kid": map[string]any{"$ne": ""}}), claims),
		"jku to the attacker":       jwstest.SignES256(attacker, head(map[string]any{"kid": "attacker", "jku": evil.URL + "/jwks.json"}), claims),
		"jku with our kid":          jwstest.SignES256(attacker, head(map[string]any{"jku": evil.URL + "/jwks.json"}), claims),
		"x5u to the attacker":       jwstest.SignES256(attacker, head(map[string]any{"kid": "attacker", "x5u": evil.URL + "/cert.pem"}), claims),
		"embedded jwk":              jwstest.SignES256(attacker, head(map[string]any{"kid": nil, "jwk": attackerJWK}), claims),
		"embedded jwk with our kid": jwstest.SignES256(attacker, head(map[string]any{"jwk": attackerJWK}), claims),
		// Our key, wrong type (RFC 9068 §4, RFC 8725 §3.11).
		"typ JWT":              jwstest.SignES256(insider, head(map[string]any{"typ": "JWT"}), claims),
		"typ absent":           jwstest.SignES256(insider, head(map[string]any{"typ": nil}), claims),
		"typ application/jwt":  jwstest.SignES256(insider, head(map[string]any{"typ": "application/jwt"}), claims),
		"typ not a string":     jwstest.SignES256(insider, head(map[string]any{"typ": []string{"at+jwt"}}), claims),
		"ID token":             spa.IDToken,
		"ID token claims":      jwstest.SignES256(insider, head(nil), servertest.PayloadOf(t, spa.IDToken)),
		"refresh token":        spa.RefreshToken,
		"critical extension":   jwstest.SignES256(insider, head(map[string]any{"crit": []string{"exp"}}), claims),
		"nbf in the future":    jwstest.SignES256(insider, head(nil), with(map[string]any{"nbf": now + 3600})),
		"iat in the future":    jwstest.SignES256(insider, head(nil), with(map[string]any{"iat": now + 3600})),
		"no exp":               jwstest.SignES256(insider, head(nil), with(map[string]any{"exp": nil})),
		"other issuer":         jwstest.SignES256(insider, head(nil), with(map[string]any{"iss": "https://evil.test"})),
		"issuer with slash":    jwstest.SignES256(insider, head(nil), with(map[string]any{"iss": h.Issuer + "/"})),
		"audience of another":  jwstest.SignES256(insider, head(nil), with(map[string]any{"aud": "server"})),
		"two audiences":        jwstest.SignES256(insider, head(nil), with(map[string]any{"aud": []string{"spa", "server"}})),
		"no session":           jwstest.SignES256(insider, head(nil), with(map[string]any{"sid": nil})),
		"tampered payload":     parts[0] + "." + jwstest.Segment(with(map[string]any{"roles": []string{"admin", "root"}})) + "." + parts[2],
		"signature of another": parts[0] + "." + parts[1] + "." + strings.Split(server.AccessToken, ".")[2],
		// Malformed.
		"oversize":                   jwstest.SignES256(insider, head(nil), with(map[string]any{"pad": strings.Repeat("A", 9<<10)})),
		"standard base64 alphabet":   strings.NewReplacer("-", "+", "_", "/").Replace(spa.AccessToken) + "+/",
		"padded segments":            parts[0] + "==." + parts[1] + "." + parts[2],
		"whitespace in a segment":    parts[0] + " ." + parts[1] + "." + parts[2],
		"invalid base64":             "!!!." + parts[1] + "." + parts[2],
		"payload not JSON":           parts[0] + "." + b64([]byte("not json")) + "." + parts[2],
		"trailing dot":               spa.AccessToken + ".",
		"extra segment":              spa.AccessToken + "." + parts[2],
		"JWE-shaped (5 segments)":    parts[0] + ".." + parts[1] + ".." + parts[2],
		"two segments":               parts[0] + "." + parts[1],
		"empty segments":             "..",
		"signature truncated":        parts[0] + "." + parts[1] + "." + parts[2][:40],
		"signature of zeros":         parts[0] + "." + parts[1] + "." + b64(make([]byte, 64)),
		"signature DER not raw":      parts[0] + "." + parts[1] + "." + b64(derSignature(t, insider, parts[0]+"."+parts[1])),
		"header duplicates alg":      b64([]byte(`{"alg":"ES256","typ":"at+jwt","kid":"`+kid+`","alg":"none"}`)) + "." + parts[1] + ".",
		"header with unknown fields": jwstest.SignES256(attacker, head(map[string]any{"x5c": []string{"MIIB"}, "kid": "attacker"}), claims),
	}
	for name, tok := range cases {
		for _, ep := range tokenEndpoints(h) {
			t.Run(name+"/"+ep.name, func(t *testing.T) {
				accepted, status, body := ep.call(t, tok, http.Header{"X-Introspect-As": {"server"}})
				if accepted {
					t.Fatalf("accepted (%d): %.300s", status, body)
				}
				if len(tok) > 20 && strings.Contains(body, tok) {
					t.Error("the error body echoes the presented token")
				}
			})
		}
	}
	if n := fetched.Load(); n != 0 {
		t.Errorf("the broker fetched the attacker's jku/x5u %d times", n)
	}

	t.Run("another tenant's token", func(t *testing.T) {
		for _, ep := range tokenEndpoints(h) {
			hdr := http.Header{"X-Tenant-ID": {"spa"}, "X-Introspect-As": {"server"}}
			tok := server.AccessToken
			if ep.name == "POST /introspect" {
				tok = spa.AccessToken // the confidential tenant asks about the SPA's token
			}
			if accepted, status, body := ep.call(t, tok, hdr); accepted {
				t.Errorf("%s: accepted another tenant's token (%d): %.200s", ep.name, status, body)
			}
		}
	})
	t.Run("token in the query string", func(t *testing.T) {
		// RFC 6750 §2.3 allows it; the broker does not: URLs end up in logs.
		status, _, _ := send(t, servertest.MustRequest(t, http.MethodGet, h.Issuer+"/auth/check?access_token="+url.QueryEscape(spa.AccessToken)))
		if status != http.StatusUnauthorized {
			t.Errorf("status %d, want 401", status)
		}
	})
	t.Run("refusals spent nothing", func(t *testing.T) {
		// A refused /auth/logout must not have ended the session.
		if status, _ := h.GetBearer("/auth/check", spa.AccessToken, nil); status != http.StatusOK {
			t.Errorf("genuine token after the attacks: %d, want 200", status)
		}
	})
}

// derSignature signs input with an ASN.1 DER signature, the encoding JWS
// does not use (RFC 7518 §3.4).
func derSignature(t *testing.T, key *ecdsa.PrivateKey, input string) []byte {
	t.Helper()
	sum := sha256.Sum256([]byte(input))
	sig, err := ecdsa.SignASN1(rand.Reader, key, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return sig
}

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
