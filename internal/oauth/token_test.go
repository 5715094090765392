package oauth_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/socialbroker/broker/internal/server/servertest"
)

// TestAmbiguousJSONBodies: a JSON body is one object whose members each
// appear once, like a form whose fields each appear once (RFC 6749 §3.2).
// A repeated member (which a map keeps the last of) or a second value
// after the object (which another parser could read instead) is refused
// with invalid_request; whitespace after the object is fine.
func TestAmbiguousJSONBodies(t *testing.T) {
	h := servertest.New(t, "")
	const token = `"grant_type":"refresh_token","refresh_token":"not-a-token","client_id":"spa"`
	tests := []struct {
		name, body string
		ok         bool // the body is read; the made-up token is then refused as invalid_grant
	}{
		{"plain", `{` + token + `}`, true},
		{"trailing whitespace", "{" + token + "} \r\n\t ", true},
		{"repeated member", `{` + token + `,"client_id":"server"}`, false},
		{"repeated member, same value", `{` + token + `,"client_id":"spa"}`, false},
		{"repeated member, escaped name", `{` + token + `,"client\u005fid":"server"}`, false},
		{"second object", `{` + token + `}{"client_id":"server"}`, false},
		{"second empty object", `{` + token + `}{}`, false},
		{"trailing word", `{` + token + `} x`, false},
		{"trailing string", `{` + token + `} "x"`, false},
		{"trailing bracket", `{` + token + `}]`, false},
		{"trailing garbage byte", `{` + token + "}\x00", false},
		{"array", `[{` + token + `}]`, false},
		{"null", `null`, false},
		{"nested value", `{` + token + `,"x":{"a":"b"}}`, false},
		{"number value", `{` + token + `,"x":1}`, false},
		{"unterminated", `{` + token, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, got := postRawJSON(t, h.Issuer+"/token", tt.body)
			want, wantStatus := "invalid_request", http.StatusBadRequest
			if tt.ok {
				want = "invalid_grant"
			}
			if got.Error != want || status != wantStatus {
				t.Errorf("POST /token %q: %d %q (%s), want %d %q", tt.body, status, got.Error, got.ErrorDescription, wantStatus, want)
			}
		})
	}

	// The app endpoint reads bodies the same way.
	for _, body := range []string{`{"refreshToken":"a","refreshToken":"b"}`, `{"refreshToken":"a"}{"refreshToken":"b"}`} {
		if status, got := postRawJSON(t, h.Issuer+"/auth/refresh", body); got.Error != "invalid_request" {
			t.Errorf("POST /auth/refresh %q: %d %q, want invalid_request", body, status, got.Error)
		}
	}
}

// postRawJSON posts body byte for byte as application/json.
func postRawJSON(t *testing.T, u, body string) (int, servertest.TokenResponse) {
	t.Helper()
	resp, err := http.Post(u, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var tr servertest.TokenResponse
	if err := json.Unmarshal(b, &tr); err != nil {
		t.Fatalf("POST %s: answer %q is not JSON: %v", u, b, err)
	}
	return resp.StatusCode, tr
}

// TestRepeatedFormParameter: a form parameter sent twice is refused with
// invalid_request (RFC 6749 §3.2: parameters must not be included more
// than once), even when the first value is a good code.
func TestRepeatedFormParameter(t *testing.T) {
	h := servertest.New(t, servertest.NoLimits)
	p := servertest.NewPKCE()
	q := h.Login(h.NewBrowser(), "google", "spa", servertest.Alice, p)
	body := url.Values{"grant_type": {"authorization_code"}, "code": {q.Get("code"), "other"}, "redirect_uri": {servertest.AppRedirect},
		"client_id": {"spa"}, "code_verifier": {p.Verifier}}
	var tr servertest.TokenResponse
	if status := h.PostForm("/token", body, nil, &tr); status != http.StatusBadRequest || tr.Error != "invalid_request" {
		t.Fatalf("%d %+v, want 400 invalid_request", status, tr)
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
