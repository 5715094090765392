package config

import (
	"strings"
	"testing"
)

const tenantTOML = `
issuer = "https://broker.example"
[[tenants]]
id = "app"
redirect_uris = ["https://app.example/cb"]
providers = ["p"]
`

// The second round's provider types: each key a type needs is named when
// missing or wrong, and keys a type would ignore are refused.
func TestNewProviderTypesValidation(t *testing.T) {
	tests := []struct {
		name, section string
		want          []string // substrings of problems
	}{
		{"apple without its key", `type = "apple"
client_id = "svc"
team_id = "T"`, []string{"providers.p.key_id: required", "providers.p.private_key: not a PEM block"}},
		{"microsoft tenant", `type = "microsoft"
client_id = "c"
client_secret = "s"
tenant = "acme.com"`, []string{"providers.p.tenant:"}},
		{"oauth2 without mapping", `type = "oauth2"
client_id = "c"
client_secret = "s"
authorize_url = "https://x.example/a"
token_url = "https://x.example/t"
userinfo_url = "ftp://x.example/u"`, []string{"providers.p.claims.subject: required", "providers.p.userinfo_url:"}},
		{"facebook trusted", `type = "facebook"
client_id = "c"
client_secret = "s"
trust_email = true`, []string{"providers.p.trust_email: Facebook"}},
		{"github with team_id", `type = "github"
client_id = "c"
client_secret = "s"
team_id = "T"`, []string{"providers.p.team_id: not used by github providers"}},
		{"gitlab with hosted_domain", `type = "gitlab"
client_id = "c"
client_secret = "s"
hosted_domain = "x"`, []string{"providers.p.hosted_domain: not used by gitlab providers"}},
		{"unknown type", `type = "myspace"
client_id = "c"`, []string{`providers.p.type: want one of`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tenantTOML+"[providers.p]\n"+tt.section+"\n"), noEnv)
			if err == nil {
				t.Fatal("Parse succeeded, want problems")
			}
			got := strings.Join(problemsOf(t, err), "\n")
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("problems:\n%s\nwant one containing %q", got, w)
				}
			}
		})
	}
}

func TestNewProviderTypesDefaults(t *testing.T) {
	c, err := Parse([]byte(`
issuer = "https://broker.example"
[providers.discord]
client_id = "c"
client_secret = "s"
[providers.work]
type = "microsoft"
client_id = "c"
client_secret = "s"
allowed_tenants = ["*"]
[providers.gitlab]
client_id = "c"
client_secret = "s"
base_url = "https://gitlab.acme.example"
[[tenants]]
id = "app"
redirect_uris = ["https://app.example/cb"]
providers = ["discord", "work", "gitlab"]
`), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]struct {
		typ, label string
		trust      bool
	}{"discord": {"discord", "Discord", false}, "work": {"microsoft", "work", true}, "gitlab": {"gitlab", "GitLab", false}} {
		p := c.Providers[name]
		if p.Type != want.typ || p.DisplayName != want.label || p.TrustsEmail() != want.trust {
			t.Errorf("%s: type %q label %q trust %v, want %+v", name, p.Type, p.DisplayName, p.TrustsEmail(), want)
		}
	}
}
