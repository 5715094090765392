package providers

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
)

func TestNextLink(t *testing.T) {
	api, _ := url.Parse("https://api.github.com")
	tests := []struct {
		name, link, want string
	}{
		{"none", "", ""},
		{"next and last",
			`<https://api.github.com/user/orgs?page=2>; rel="next", <https://api.github.com/user/orgs?page=5>; rel="last"`,
			"https://api.github.com/user/orgs?page=2"},
		{"prev only", `<https://api.github.com/user/orgs?page=1>; rel="prev"`, ""},
		{"relative", `</user/orgs?page=3>; rel="next"`, "https://api.github.com/user/orgs?page=3"},
		{"another host gets no token", `<https://evil.example/user/orgs?page=2>; rel="next"`, ""},
		{"downgrade to http", `<http://api.github.com/user/orgs?page=2>; rel="next"`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.link != "" {
				h.Set("Link", tt.link)
			}
			if got := nextLink(h, api); got != tt.want {
				t.Errorf("nextLink = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestFlexBool(t *testing.T) {
	tests := []struct {
		json string
		want bool
	}{
		{`{"email_verified":true}`, true},
		{`{"email_verified":"true"}`, true},
		{`{"email_verified":"TRUE"}`, true},
		{`{"email_verified":false}`, false},
		{`{"email_verified":"false"}`, false},
		{`{"email_verified":"yes"}`, false},
		{`{"email_verified":null}`, false},
		{`{}`, false},
	}
	for _, tt := range tests {
		var c claims
		if err := json.Unmarshal([]byte(tt.json), &c); err != nil {
			t.Errorf("%s: %v", tt.json, err)
			continue
		}
		if got := bool(c.EmailVerified); got != tt.want {
			t.Errorf("%s: email_verified = %v, want %v", tt.json, got, tt.want)
		}
	}
}

// TestFaultRecorder checks the line drawn between an unreachable JWKS
// (ErrUpstream) and a signature no published key verifies (ErrInvalidIdentity).
func TestFaultRecorder(t *testing.T) {
	// A structurally valid RS256 JWS with a bogus signature.
	const jwt = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
	empty := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"keys":[]}`))
	}))
	defer empty.Close()
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()

	tests := []struct {
		name      string
		jwksURL   string
		wantFetch bool
	}{
		{"no key verifies", empty.URL, false},
		{"JWKS unreachable", down.URL, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := oidc.ClientContext(t.Context(), &http.Client{})
			r := &faultRecorder{KeySet: oidc.NewRemoteKeySet(ctx, tt.jwksURL)}
			v := oidc.NewVerifier("https://idp.example", r, &oidc.Config{ClientID: "c"})
			if _, err := v.Verify(ctx, jwt); err == nil {
				t.Fatal("Verify succeeded, want an error")
			}
			if got := r.fetchErr != nil; got != tt.wantFetch {
				t.Errorf("fetch fault recorded = %v (%v), want %v", got, r.fetchErr, tt.wantFetch)
			}
		})
	}
}
