package callback

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestFlowCookie: the browser-binding cookie is __Host- prefixed and
// Secure over https (RFC 6265bis §4.1.3.2: host-only, path /, never set by
// a sibling subdomain), and always HttpOnly, SameSite=Lax, Path=/ and
// without Domain.
func TestFlowCookie(t *testing.T) {
	tests := []struct {
		issuer, name string
		secure       bool
	}{
		{"https://auth.example.com", "__Host-broker_login", true},
		{"http://127.0.0.1:8080", "broker_login", false},
	}
	for _, tt := range tests {
		t.Run(tt.issuer, func(t *testing.T) {
			f := newTestFlow(t, tt.issuer)
			w := f.serve("/auth/fake/login", appQuery().Encode())
			if w.Code != http.StatusFound {
				t.Fatalf("login start: %d", w.Code)
			}
			raw := w.Header().Values("Set-Cookie")
			if len(raw) != 1 {
				t.Fatalf("Set-Cookie = %q, want one cookie", raw)
			}
			c := w.Result().Cookies()[0]
			if c.Name != tt.name || c.Secure != tt.secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode ||
				c.Path != "/" || c.Domain != "" || c.MaxAge <= 0 {
				t.Errorf("cookie %s: name %q secure %v httponly %v samesite %v path %q domain %q max-age %d; want %q secure=%v httponly lax / no domain",
					raw[0], c.Name, c.Secure, c.HttpOnly, c.SameSite, c.Path, c.Domain, c.MaxAge, tt.name, tt.secure)
			}
			if strings.Contains(strings.ToLower(raw[0]), "domain=") {
				t.Errorf("Set-Cookie %q has a Domain attribute", raw[0])
			}
			if len(c.Value) < 43 {
				t.Errorf("binding secret is %d characters, want at least 256 bits", len(c.Value))
			}
		})
	}
}

// TestCookieTossing: over https only the __Host- cookie binds a flow. A
// cookie without the prefix can be planted by a sibling subdomain or a
// plain-http page; it must not stand in for the real one.
func TestCookieTossing(t *testing.T) {
	f := newTestFlow(t, "https://auth.example.com")
	state, real := f.start(t)
	tossed := &http.Cookie{Name: "broker_login", Value: real.Value}
	q := url.Values{"state": {state}, "code": {"good"}}.Encode()
	if w := f.serve("/auth/fake/callback", q, tossed); w.Code != http.StatusBadRequest || w.Header().Get("Location") != "" {
		t.Fatalf("callback with an unprefixed cookie: %d Location %q, want 400 and no redirect", w.Code, w.Header().Get("Location"))
	}
	// The state was spent by the refused attempt: a login CSRF gets one
	// try. Its browser's callback may reach the upstream then (nothing is
	// read before, see takeFlow), but starts nothing.
	if w := f.serve("/auth/fake/callback", q, real); w.Code != http.StatusBadRequest || w.Header().Get("Location") != "" {
		t.Fatalf("state reused after a refusal: %d Location %q, want 400 and no redirect", w.Code, w.Header().Get("Location"))
	}
	state, real = f.start(t)
	w := f.serve("/auth/fake/callback", url.Values{"state": {state}, "code": {"good"}}.Encode(), real)
	loc, _ := url.Parse(w.Header().Get("Location"))
	if w.Code != http.StatusFound || loc == nil || loc.Query().Get("code") != "broker-code" {
		t.Fatalf("genuine callback: %d Location %q", w.Code, w.Header().Get("Location"))
	}
}

// TestDisabledUserRefused: an operator disabled the account; signing in
// upstream again does not bring it back.
func TestDisabledUserRefused(t *testing.T) {
	f := newTestFlow(t, "https://auth.example.com")
	f.users.disabled = true
	state, cookie := f.start(t)
	w := f.serve("/auth/fake/callback", url.Values{"state": {state}, "code": {"good"}}.Encode(), cookie)
	loc, err := url.Parse(w.Header().Get("Location"))
	if w.Code != http.StatusFound || err != nil || loc.Query().Get("error") != "access_denied" || loc.Query().Has("code") {
		t.Fatalf("disabled user's callback: %d Location %q, want a redirect with error=access_denied", w.Code, w.Header().Get("Location"))
	}
}
