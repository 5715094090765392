package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

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
