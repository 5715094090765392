package config

import "testing"

func TestTenantHome(t *testing.T) {
	tests := []struct {
		name string
		t    Tenant
		want string
	}{
		{"first allowed origin", Tenant{AllowedOrigins: []string{"https://app.example", "https://b.example"}, RedirectURIs: []string{"https://c.example/cb"}}, "https://app.example/"},
		{"redirect URI's origin", Tenant{RedirectURIs: []string{"http://localhost:5173/callback?x=1"}}, "http://localhost:5173/"},
		{"skips custom schemes", Tenant{RedirectURIs: []string{"com.example.app:/cb", "https://app.example/cb"}}, "https://app.example/"},
		{"native app only", Tenant{RedirectURIs: []string{"com.example.app:/cb"}}, ""},
		{"never userinfo", Tenant{RedirectURIs: []string{"https://user@app.example/cb"}}, ""},
	}
	for _, tt := range tests {
		if got := tt.t.Home(); got != tt.want {
			t.Errorf("%s: Home() = %q, want %q", tt.name, got, tt.want)
		}
	}
}
