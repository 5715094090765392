package providers

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// hugeUpstream is an OpenID provider whose discovery document or JWKS is
// valid JSON padded to 10 MB: everything checks out except the size.
type hugeUpstream struct {
	srv             *httptest.Server
	key             *rsa.PrivateKey
	hugeDiscovery   bool
	hugeJWKS        bool
	withoutLength   bool // chunked: the size shows only while reading
	nonce, clientID string
}

func newHugeUpstream(t *testing.T) *hugeUpstream {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	u := &hugeUpstream{key: key, clientID: "client"}
	u.srv = httptest.NewServer(http.HandlerFunc(u.serve))
	t.Cleanup(u.srv.Close)
	return u
}

const tenMB = 10 << 20

func (u *hugeUpstream) write(w http.ResponseWriter, v map[string]any, huge bool) {
	if huge {
		v["padding"] = strings.Repeat("A", tenMB)
	}
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	if !u.withoutLength {
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		w.Write(b)
		return
	}
	for len(b) > 0 { // flushed pieces: no Content-Length
		n := min(len(b), 64<<10)
		w.Write(b[:n])
		w.(http.Flusher).Flush()
		b = b[n:]
	}
}

func (u *hugeUpstream) serve(w http.ResponseWriter, r *http.Request) {
	iss := u.srv.URL
	switch r.URL.Path {
	case "/.well-known/openid-configuration":
		u.write(w, map[string]any{
			"issuer": iss, "authorization_endpoint": iss + "/authorize", "token_endpoint": iss + "/token",
			"jwks_uri": iss + "/jwks", "id_token_signing_alg_values_supported": []string{"RS256"},
		}, u.hugeDiscovery)
	case "/jwks":
		b64 := base64.RawURLEncoding.EncodeToString
		u.write(w, map[string]any{"keys": []any{map[string]string{
			"kty": "RSA", "kid": "k", "alg": "RS256", "use": "sig",
			"n": b64(u.key.N.Bytes()), "e": b64(big.NewInt(int64(u.key.E)).Bytes()),
		}}}, u.hugeJWKS)
	case "/token":
		now := time.Now()
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
			"iss": iss, "sub": "42", "aud": u.clientID, "exp": now.Add(time.Hour).Unix(), "iat": now.Unix(),
			"nonce": u.nonce, "email": "a@example.test", "email_verified": true, "name": "A",
		})
		tok.Header["kid"] = "k"
		idt, _ := tok.SignedString(u.key)
		u.write(w, map[string]any{"access_token": "at", "token_type": "Bearer", "expires_in": 3600, "id_token": idt}, false)
	default:
		http.NotFound(w, r)
	}
}

// TestUpstreamAnswerBounded: a 10 MB discovery document or JWKS from an
// upstream is refused once it passes maxBody, announced or not, and the
// same upstream answering normally works.
func TestUpstreamAnswerBounded(t *testing.T) {
	for _, chunked := range []bool{false, true} {
		t.Run("chunked="+strconv.FormatBool(chunked), func(t *testing.T) {
			u := newHugeUpstream(t)
			u.withoutLength = chunked
			provider := func() *OIDC {
				p, err := NewOIDC(OIDCConfig{Name: "corp", Issuer: u.srv.URL, ClientID: "client", ClientSecret: "s",
					HTTPClient: &http.Client{Timeout: 5 * time.Second}})
				if err != nil {
					t.Fatal(err)
				}
				return p
			}
			req := AuthRequest{State: "s", Nonce: "n", Verifier: strings.Repeat("v", 43), RedirectURL: "https://broker.test/cb"}

			u.hugeDiscovery = true
			if _, err := provider().AuthCodeURL(t.Context(), req); !errors.Is(err, ErrUpstream) || !strings.Contains(err.Error(), errAnswerTooLarge.Error()) {
				t.Errorf("10 MB discovery document: error %v, want ErrUpstream and answer too large", err)
			}
			u.hugeDiscovery = false

			exchange := func() error {
				p := provider()
				if _, err := p.AuthCodeURL(t.Context(), req); err != nil {
					t.Fatal(err)
				}
				u.nonce = req.Nonce
				_, err := p.Exchange(t.Context(), ExchangeRequest{Code: "c", Verifier: req.Verifier, Nonce: req.Nonce, RedirectURL: req.RedirectURL})
				return err
			}
			if err := exchange(); err != nil {
				t.Fatalf("the same upstream at a normal size: %v", err)
			}
			u.hugeJWKS = true
			if err := exchange(); !errors.Is(err, ErrUpstream) || !strings.Contains(err.Error(), errAnswerTooLarge.Error()) {
				t.Errorf("10 MB JWKS: error %v, want ErrUpstream and answer too large", err)
			}
		})
	}
}

// countingTransport counts the answer bytes the broker actually reads.
type countingTransport struct{ read atomic.Int64 }

func (t *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil {
		resp.Body = &countingBody{ReadCloser: resp.Body, n: &t.read}
	}
	return resp, err
}

type countingBody struct {
	io.ReadCloser
	n *atomic.Int64
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n.Add(int64(n))
	return n, err
}

// An answer that cannot be valid is refused as soon as that shows, not
// after reading up to the size cap: a 20 MB HTML page, markup labelled
// JSON, an image. A 20 MB JSON stream is refused at maxBody.
func TestUpstreamAnswerRefusedEarly(t *testing.T) {
	const twentyMB = 20 << 20
	tests := []struct {
		name, contentType, start string
		want                     error
		maxRead                  int64
	}{
		{"HTML page", "text/html; charset=utf-8", "<!doctype html>", errNotJSON, 0},
		{"markup labelled JSON", "application/json", "  <html>", errNotJSON, 64 << 10},
		{"image", "image/png", "\x89PNG", errNotJSON, 0},
		{"endless JSON", "application/json", `{"padding":"`, errAnswerTooLarge, maxBody + 64<<10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tt.contentType)
				w.Write([]byte(tt.start))
				chunk := []byte(strings.Repeat("A", 32<<10))
				for sent := 0; sent < twentyMB; sent += len(chunk) { // chunked: no Content-Length
					if _, err := w.Write(chunk); err != nil {
						return
					}
					w.(http.Flusher).Flush()
				}
			}))
			t.Cleanup(srv.Close)
			counter := &countingTransport{}
			p, err := NewOIDC(OIDCConfig{Name: "corp", Issuer: srv.URL, ClientID: "client",
				HTTPClient: &http.Client{Timeout: 5 * time.Second, Transport: counter}})
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.AuthCodeURL(t.Context(), AuthRequest{State: "s", Nonce: "n", Verifier: strings.Repeat("v", 43), RedirectURL: "https://broker.test/cb"})
			if !errors.Is(err, ErrUpstream) || !strings.Contains(err.Error(), tt.want.Error()) {
				t.Fatalf("error %v, want ErrUpstream and %q", err, tt.want)
			}
			if got := counter.read.Load(); got > tt.maxRead {
				t.Errorf("read %d bytes of the answer, want at most %d", got, tt.maxRead)
			}
		})
	}
}
