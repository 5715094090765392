package config

import (
	"net/url"
	"strings"
	"testing"
)

// cookieTenant is valid with refresh_token_delivery = "cookie": the issuer
// moved onto the app's site and only the https origin kept.
func cookieTenant(t *testing.T, extra ...string) string {
	t.Helper()
	return edit(t, append([]string{
		`issuer = "https://auth.example.com/"`, `issuer = "https://auth.acme.com"`,
		`allowed_origins = ["http://localhost:5173", "https://admin.acme.com"]`,
		`allowed_origins = ["https://admin.acme.com"]` + "\nrefresh_token_delivery = \"cookie\"",
	}, extra...)...)
}

func TestRefreshTokenDelivery(t *testing.T) {
	c, err := Parse([]byte(valid), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Tenants[0].RefreshTokenDelivery; got != DeliveryBody {
		t.Errorf("default refresh_token_delivery = %q, want %q", got, DeliveryBody)
	}
	if c.Tenants[0].CookieDelivery() {
		t.Error("CookieDelivery() = true for the default, want false")
	}

	c, err = Parse([]byte(cookieTenant(t)), noEnv)
	if err != nil {
		t.Fatalf("cookie tenant: %v", err)
	}
	if !c.Tenants[0].CookieDelivery() {
		t.Error(`CookieDelivery() = false with refresh_token_delivery = "cookie"`)
	}
	if _, err := Parse([]byte(edit(t, `allowed_origins = [`, "refresh_token_delivery = \"body\"\nallowed_origins = [")), noEnv); err != nil {
		t.Errorf(`explicit "body": %v`, err)
	}
}

func TestRefreshTokenDeliveryRules(t *testing.T) {
	const key = "tenants[0].refresh_token_delivery"
	tests := []struct {
		name, config, wantKey, wantMsg string
	}{
		{"unknown value", edit(t, `allowed_origins = [`, "refresh_token_delivery = \"header\"\nallowed_origins = ["), key, `want "body" or "cookie", got "header"`},
		{"confidential", cookieTenant(t, `providers = ["google", "github", "corp"]`, "providers = [\"google\", \"github\", \"corp\"]\nclient_secret = \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\""), key, "public tenants"},
		{"no origins", cookieTenant(t, `allowed_origins = ["https://admin.acme.com"]`, `allowed_origins = []`), key, "needs allowed_origins"},
		{"origin on another scheme", cookieTenant(t, `allowed_origins = ["https://admin.acme.com"]`, `allowed_origins = ["https://admin.acme.com", "http://admin.acme.com"]`), "tenants[0].allowed_origins[1]", "SameSite"},
		{"origin on another site", cookieTenant(t, `allowed_origins = ["https://admin.acme.com"]`, `allowed_origins = ["https://admin.other.com"]`), "tenants[0].allowed_origins[0]", "issuer's site"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.config), noEnv)
			if err == nil {
				t.Fatalf("Parse: got nil error, want a problem at %s", tt.wantKey)
			}
			var found bool
			for _, p := range problemsOf(t, err) {
				if strings.HasPrefix(p, tt.wantKey+": ") && strings.Contains(p, tt.wantMsg) {
					found = true
				}
			}
			if !found {
				t.Errorf("got %v\nwant a problem %q containing %q", err, tt.wantKey+": ...", tt.wantMsg)
			}
		})
	}
}

func TestMaybeSameSite(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"http://127.0.0.1:8080", "http://127.0.0.1:5173", true}, // ports do not matter
		{"http://localhost:8080", "http://localhost:5173", true},
		{"http://127.0.0.1:8080", "http://localhost:5173", false},
		{"http://127.0.0.1:8080", "http://127.0.0.2:5173", false},
		{"https://auth.acme.com", "https://admin.acme.com", true},
		{"https://acme.com", "https://admin.acme.com", true},
		{"https://auth.acme.com", "http://admin.acme.com", false}, // schemeful
		{"https://auth.acme.com", "https://admin.acme.org", false},
		{"https://auth.broker.io", "https://acme.com", false},
		{"http://intranet:8080", "http://wiki:80", false},
		{"http://[::1]:8080", "http://[::1]:5173", true},
	}
	for _, tt := range tests {
		a, _ := url.Parse(tt.a)
		b, _ := url.Parse(tt.b)
		if got := maybeSameSite(a, b); got != tt.want {
			t.Errorf("maybeSameSite(%s, %s) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}
