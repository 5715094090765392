package config

import (
	"strings"
	"testing"
	"time"
)

func TestSSODefaults(t *testing.T) {
	c, err := Parse([]byte(valid), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	want := SSO{Enabled: true, IdleTTL: Duration{8 * time.Hour}, MaxTTL: Duration{24 * time.Hour}}
	if c.SSO != want {
		t.Errorf("[sso] defaults = %+v, want %+v", c.SSO, want)
	}
	c, err = Parse([]byte(valid+"[sso]\nenabled = false\nidle_ttl = \"1h\"\n"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	want = SSO{Enabled: false, IdleTTL: Duration{time.Hour}, MaxTTL: Duration{24 * time.Hour}}
	if c.SSO != want {
		t.Errorf("[sso] = %+v, want %+v", c.SSO, want)
	}
	uri := "https://admin.acme.com/backchannel?x=1"
	c, err = Parse([]byte(edit(t, `id = "acme-admin"`, "id = \"acme-admin\"\nbackchannel_logout_uri = \""+uri+"\"")), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Tenants[0].BackchannelLogoutURI; got != uri {
		t.Errorf("backchannel_logout_uri = %q, want %q", got, uri)
	}
}

func TestSSORules(t *testing.T) {
	backchannel := func(uri string) string {
		return edit(t, `id = "acme-admin"`, "id = \"acme-admin\"\nbackchannel_logout_uri = \""+uri+"\"")
	}
	const bcKey = "tenants[0].backchannel_logout_uri"
	tests := []struct {
		name, config, wantKey, wantMsg string
	}{
		{"zero idle", valid + "[sso]\nidle_ttl = \"0s\"\n", "sso.idle_ttl", "positive"},
		{"zero max", valid + "[sso]\nmax_ttl = \"0s\"\n", "sso.max_ttl", "positive"},
		{"idle above max", valid + "[sso]\nidle_ttl = \"48h\"\n", "sso.idle_ttl", "longer than sso.max_ttl"},
		{"plain http", backchannel("http://app.acme.com/logout"), bcKey, "only allowed for localhost"},
		{"relative", backchannel("/logout"), bcKey, "https://"},
		{"fragment", backchannel("https://app.acme.com/logout#x"), bcKey, "fragment"},
		{"credentials", backchannel("https://u:p@app.acme.com/logout"), bcKey, "user:password"},
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
	if _, err := Parse([]byte(backchannel("http://127.0.0.1:9000/logout")), noEnv); err != nil {
		t.Errorf("loopback http: %v", err)
	}
}
