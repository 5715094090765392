package config

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
)

const adminBase = `issuer = "http://127.0.0.1:8080"
listen = "127.0.0.1:8080"
%s
[providers.google]
client_id = "g"
client_secret = "gs"
[[tenants]]
id = "app"
redirect_uris = ["https://app.example.com/cb"]
providers = ["google"]
`

func TestAdminKeys(t *testing.T) {
	c, err := Parse([]byte(strings.Replace(adminBase, "%s", `
admin_listen = "127.0.0.1:8081"
secrets_key = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA="
[admin]
allow_private_networks = true
dns_resolver = "127.0.0.1:5353"
console_admins = ["alice@acme.example"]`, 1)), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if k := c.SecretsKeyBytes(); len(k) != 32 || k[0] != 1 || k[31] != 32 {
		t.Errorf("secrets_key = %v", k)
	}
	if !c.Admin.AllowPrivateNetworks || c.Admin.DNSResolver != "127.0.0.1:5353" || c.Admin.ConsoleRole != DefaultConsoleRole || c.AdminListen != "127.0.0.1:8081" {
		t.Errorf("admin = %+v, admin_listen %q", c.Admin, c.AdminListen)
	}
	// Unset: no key, the default role.
	c, err = Parse([]byte(strings.Replace(adminBase, "%s", "", 1)), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if c.SecretsKeyBytes() != nil || c.Admin.ConsoleRole != DefaultConsoleRole {
		t.Errorf("defaults: key %v, role %q", c.SecretsKeyBytes(), c.Admin.ConsoleRole)
	}

	for _, tc := range []struct{ toml, key string }{
		{`secrets_key = "c2hvcnQ="`, "secrets_key"},
		{`secrets_key = "not base64!"`, "secrets_key"},
		{`admin_listen = "127.0.0.1:8080"`, "admin_listen"},
		{`admin_listen = "nowhere"`, "admin_listen"},
		{"[admin]\ndns_resolver = \"8.8.8.8\"", "admin.dns_resolver"},
		{"[admin]\nconsole_admins = [\"\"]", "admin.console_admins[0]"},
		{"[admin]\nconsole_admins = [\"ops@acme.example\", \"alice\"]", "admin.console_admins[1]"},
		{"[admin]\nconsole_admins = [\"a@b@acme.example\"]", "admin.console_admins[0]"},
		{"[admin]\nconsole_role = \"broker admin\"", "admin.console_role"},
		{"[[tenants]]\nid = \"broker-console\"\nredirect_uris = [\"https://x.example/cb\"]\nproviders = [\"google\"]", "tenants[0].id"},
		{"[admin]\nallow_private = true", "admin.allow_private"},
	} {
		_, err := Parse([]byte(strings.Replace(adminBase, "%s", tc.toml, 1)), noEnv)
		if err == nil || !strings.Contains(err.Error(), tc.key+":") {
			t.Errorf("%s: %v, want a problem at %s", tc.toml, err, tc.key)
		}
		if err != nil && strings.Contains(err.Error(), "c2hvcnQ") {
			t.Errorf("the error quotes secrets_key: %v", err)
		}
	}
}

// jsonObject decodes s as the admin API reads bodies.
func jsonObject(t *testing.T, s string) map[string]any {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestDecodeJSON(t *testing.T) {
	var tn Tenant
	ps := DecodeJSON(jsonObject(t, `{"id":"a","redirect_uris":["https://a.example/cb"],"roles":[{"role":"r","everyone":true,"colour":1}],
		"access":{"email_domains":"a.example"},"providers":[7]}`), &tn)
	var fields []string
	for _, p := range ps {
		fields = append(fields, p.Field)
	}
	slices.Sort(fields)
	if want := []string{"access.email_domains", "providers[0]", "roles[0].colour"}; !slices.Equal(fields, want) {
		t.Errorf("problems at %v, want %v (%v)", fields, want, ps)
	}
	if tn.ID != "a" || len(tn.Roles) != 1 || !tn.Roles[0].Everyone {
		t.Errorf("decoded %+v", tn)
	}
	// Numbers arrive as json.Number: integers fit integer keys.
	var rl RateLimits
	if ps := DecodeJSON(jsonObject(t, `{"max_keys":5000}`), &rl); len(ps) != 0 || rl.MaxKeys != 5000 {
		t.Errorf("max_keys: %v %d", ps, rl.MaxKeys)
	}
}

func TestEncodeJSONRoundTrip(t *testing.T) {
	trust := false
	in := Provider{DisplayName: "Okta"}
	in.Type, in.ClientID, in.Issuer, in.Scopes, in.TrustEmail = "oidc", "c", "https://idp.example", []string{"openid"}, &trust
	m := EncodeJSON(&in)
	if _, set := m["api_url"]; set {
		t.Errorf("an unset key is encoded: %v", m)
	}
	if m["trust_email"] != false {
		t.Errorf("trust_email = false was dropped: %v", m)
	}
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var out Provider
	if ps := DecodeJSON(jsonObject(t, string(data)), &out); len(ps) != 0 {
		t.Fatal(ps)
	}
	if !reflect.DeepEqual(in, out) {
		t.Errorf("round trip:\n got %+v\nwant %+v", out, in)
	}
	if !bytes.Contains(data, []byte(`"display_name":"Okta"`)) {
		t.Errorf("encoded %s", data)
	}
}
