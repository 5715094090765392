package authn_test

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

// Broker access tokens under attack at every endpoint that takes one
// (those behind Bearer, and /introspect): forged, confused and malformed
// tokens. Each case names the defence it proves.

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
