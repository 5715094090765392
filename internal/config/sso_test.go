package config

import (
	"testing"
	"time"
)

// backchannel is valid with the first tenant's backchannel_logout_uri set
// to uri (the rules' cases are in TestValidationRules).
func backchannel(t *testing.T, uri string) string {
	return edit(t, `id = "acme-admin"`, "id = \"acme-admin\"\nbackchannel_logout_uri = \""+uri+"\"")
}

func TestSSOConfig(t *testing.T) {
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
	for _, uri := range []string{"https://admin.acme.com/backchannel?x=1", "http://127.0.0.1:9000/logout", "http://localhost/logout"} {
		c, err = Parse([]byte(backchannel(t, uri)), noEnv)
		if err != nil {
			t.Fatalf("backchannel_logout_uri %q: %v", uri, err)
		}
		if got := c.Tenants[0].BackchannelLogoutURI; got != uri {
			t.Errorf("backchannel_logout_uri = %q, want %q", got, uri)
		}
	}
}
