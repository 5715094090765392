package config

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// valid is a complete configuration touching most features; cases derive
// broken variants from it by exact string replacement.
const valid = `issuer = "https://auth.example.com/"
listen = "127.0.0.1:8080"
trusted_proxies = ["10.0.0.0/8", "192.168.1.1", "fd00::/8"]
log_level = "info"

[database]
url = "sqlite:./broker.db"

[tokens]
signing_alg = "ES256"
access_ttl = "15m"
refresh_idle_ttl = "720h"
refresh_max_ttl = "2160h"
refresh_reuse_grace = "10s"
code_ttl = "60s"

[providers.google]
client_id = "g-id"
client_secret = "g-secret"

[providers.github]
client_id = "gh-id"
client_secret = "gh-secret"

[providers.corp]
type = "oidc"
issuer = "https://idp.example.com/"
client_id = "corp-id"

[[tenants]]
id = "acme-admin"
redirect_uris = ["http://localhost:5173/callback", "https://admin.acme.com/callback", "com.acme.app:/cb"]
post_logout_redirect_uris = ["http://localhost:5173/"]
allowed_origins = ["http://localhost:5173", "https://admin.acme.com"]
providers = ["google", "github", "corp"]
[tenants.access]
email_domains = ["acme.com"]
[[tenants.roles]]
role = "admin"
emails = ["alice@acme.com"]
`

const tenantBlock = `[[tenants]]
id = "acme-admin"
redirect_uris = ["http://localhost:5173/callback", "https://admin.acme.com/callback", "com.acme.app:/cb"]
post_logout_redirect_uris = ["http://localhost:5173/"]
allowed_origins = ["http://localhost:5173", "https://admin.acme.com"]
providers = ["google", "github", "corp"]
[tenants.access]
email_domains = ["acme.com"]
[[tenants.roles]]
role = "admin"
emails = ["alice@acme.com"]
`

// edit applies old/new replacement pairs to valid, each exactly once.
func edit(t *testing.T, pairs ...string) string {
	t.Helper()
	s := valid
	for i := 0; i+1 < len(pairs); i += 2 {
		if strings.Count(s, pairs[i]) != 1 {
			t.Fatalf("test bug: %q occurs %d times in valid", pairs[i], strings.Count(s, pairs[i]))
		}
		s = strings.Replace(s, pairs[i], pairs[i+1], 1)
	}
	return s
}

func noEnv(string) string { return "" }

func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func problemsOf(t *testing.T, err error) []string {
	t.Helper()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("got error %v (%T), want *ValidationError", err, err)
	}
	return ve.Problems
}

func TestParseValid(t *testing.T) {
	c, err := Parse([]byte(valid), noEnv)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got, want := c.Issuer, "https://auth.example.com"; got != want {
		t.Errorf("Issuer = %q, want %q (trailing slash removed)", got, want)
	}
	// OIDC issuers are compared exactly with the token's iss: kept as written.
	if got, want := c.Providers["corp"].Issuer, "https://idp.example.com/"; got != want {
		t.Errorf("corp Issuer = %q, want %q", got, want)
	}
	if got, want := c.CallbackURL("github"), "https://auth.example.com/auth/github/callback"; got != want {
		t.Errorf("CallbackURL = %q, want %q", got, want)
	}
}

func TestValidationRules(t *testing.T) {
	tests := []struct {
		name    string
		config  string
		wantKey string // the problem must start with "wantKey: "
		wantMsg string // and contain this
	}{
		// server
		{"issuer missing", edit(t, `issuer = "https://auth.example.com/"`, ``), "issuer", "required"},
		{"issuer relative", edit(t, `"https://auth.example.com/"`, `"/auth"`), "issuer", "absolute"},
		{"issuer not http", edit(t, `"https://auth.example.com/"`, `"ftp://auth.example.com"`), "issuer", "absolute"},
		{"issuer query", edit(t, `"https://auth.example.com/"`, `"https://auth.example.com/?x=1"`), "issuer", "query"},
		{"issuer fragment", edit(t, `"https://auth.example.com/"`, `"https://auth.example.com/#x"`), "issuer", "fragment"},
		{"listen no port", edit(t, `listen = "127.0.0.1:8080"`, `listen = "8080"`), "listen", "host:port"},
		{"listen bad port", edit(t, `listen = "127.0.0.1:8080"`, `listen = ":99999"`), "listen", "port"},
		{"metrics listen no port", edit(t, `listen = "127.0.0.1:8080"`, "listen = \"127.0.0.1:8080\"\nmetrics_listen = \"9090\""), "metrics_listen", "host:port"},
		{"metrics listen bad port", edit(t, `listen = "127.0.0.1:8080"`, "listen = \"127.0.0.1:8080\"\nmetrics_listen = \"127.0.0.1:99999\""), "metrics_listen", "port"},
		{"metrics listen bad host", edit(t, `listen = "127.0.0.1:8080"`, "listen = \"127.0.0.1:8080\"\nmetrics_listen = \"http://x:9090\""), "metrics_listen", "host:port"},
		{"metrics listen is listen", edit(t, `listen = "127.0.0.1:8080"`, "listen = \"127.0.0.1:8080\"\nmetrics_listen = \"127.0.0.1:8080\""), "metrics_listen", "same address as listen"},
		{"trusted proxy bad cidr", edit(t, `"10.0.0.0/8"`, `"10.0.0.0/33"`), "trusted_proxies[0]", "CIDR"},
		{"trusted proxy garbage", edit(t, `"192.168.1.1"`, `"proxy.internal"`), "trusted_proxies[1]", "CIDR"},
		{"log level", edit(t, `log_level = "info"`, `log_level = "verbose"`), "log_level", "verbose"},
		{"upstream timeout zero", edit(t, `log_level = "info"`, `upstream_timeout = "0s"`), "upstream_timeout", "greater than 0"},
		{"login ttl negative", edit(t, `log_level = "info"`, `login_ttl = "-1m"`), "login_ttl", "greater than 0"},
		{"shutdown delay negative", edit(t, `log_level = "info"`, `shutdown_delay = "-1s"`), "shutdown_delay", "negative"},
		{"max in flight negative", edit(t, `log_level = "info"`, `max_in_flight = -1`), "max_in_flight", "negative"},
		{"database scheme", edit(t, `"sqlite:./broker.db"`, `"mysql://u:pw@h/db"`), "database.url", "sqlite:PATH"},
		{"database empty sqlite path", edit(t, `"sqlite:./broker.db"`, `"sqlite:"`), "database.url", "file path"},

		// tokens
		{"signing alg", edit(t, `"ES256"`, `"HS256"`), "tokens.signing_alg", "HS256"},
		{"access ttl zero", edit(t, `access_ttl = "15m"`, `access_ttl = "0s"`), "tokens.access_ttl", "greater than 0"},
		{"id token ttl zero", edit(t, `access_ttl = "15m"`, `id_token_ttl = "0s"`), "tokens.id_token_ttl", "greater than 0"},
		{"key rotation zero", edit(t, `access_ttl = "15m"`, `key_rotation = "0s"`), "tokens.key_rotation", "greater than 0"},
		{"code ttl zero", edit(t, `code_ttl = "60s"`, `code_ttl = "0s"`), "tokens.code_ttl", "greater than 0"},
		{"code ttl too long", edit(t, `code_ttl = "60s"`, `code_ttl = "11m"`), "tokens.code_ttl", "10m"},
		{"refresh idle zero", edit(t, `refresh_idle_ttl = "720h"`, `refresh_idle_ttl = "0s"`), "tokens.refresh_idle_ttl", "greater than 0"},
		{"refresh max zero", edit(t, `refresh_max_ttl = "2160h"`, `refresh_max_ttl = "0s"`), "tokens.refresh_max_ttl", "greater than 0"},
		{"grace negative", edit(t, `refresh_reuse_grace = "10s"`, `refresh_reuse_grace = "-1s"`), "tokens.refresh_reuse_grace", "negative"},
		{"grace not below idle", edit(t, `refresh_reuse_grace = "10s"`, `refresh_reuse_grace = "720h"`), "tokens.refresh_reuse_grace", "shorter than tokens.refresh_idle_ttl"},
		{"idle above max", edit(t, `refresh_idle_ttl = "720h"`, `refresh_idle_ttl = "3000h"`), "tokens.refresh_idle_ttl", "refresh_max_ttl"},
		{"bad duration", edit(t, `access_ttl = "15m"`, `access_ttl = "15 minutes"`), "tokens.access_ttl", "invalid duration"},
		{"duration as integer", edit(t, `access_ttl = "15m"`, `access_ttl = 15`), "tokens.access_ttl", `want a duration string like "15m", got an integer`},

		// providers
		{"provider name uppercase", valid + "[providers.Corp2]\ntype = \"oidc\"\nissuer = \"https://x.example\"\nclient_id = \"x\"\n", "providers.Corp2", "a-z"},
		{"provider name quoted", valid + "[providers.\"my corp\"]\ntype = \"oidc\"\nissuer = \"https://x.example\"\nclient_id = \"x\"\n", `providers."my corp"`, "a-z"},
		{"client id missing", edit(t, "client_id = \"g-id\"\n", ""), "providers.google.client_id", "required"},
		{"google secret missing", edit(t, "client_secret = \"g-secret\"\n", ""), "providers.google.client_secret", "required"},
		{"github secret missing", edit(t, "client_secret = \"gh-secret\"\n", ""), "providers.github.client_secret", "required"},
		{"other name needs type", edit(t, "type = \"oidc\"\n", ""), "providers.corp.type", `type = "oidc"`},
		{"unknown type", edit(t, `type = "oidc"`, `type = "saml"`), "providers.corp.type", "saml"},
		{"oidc issuer missing", edit(t, "issuer = \"https://idp.example.com/\"\n", ""), "providers.corp.issuer", "required"},
		{"oidc issuer relative", edit(t, `"https://idp.example.com/"`, `"idp.example.com"`), "providers.corp.issuer", "absolute"},
		{"google issuer bad", edit(t, "client_secret = \"g-secret\"\n", "client_secret = \"g-secret\"\nissuer = \"accounts.google.com\"\n"), "providers.google.issuer", "absolute"},
		{"oidc scopes without openid", edit(t, "client_id = \"corp-id\"\n", "client_id = \"corp-id\"\nscopes = [\"email\"]\n"), "providers.corp.scopes", "openid"},
		{"github issuer", edit(t, "client_secret = \"gh-secret\"\n", "client_secret = \"gh-secret\"\nissuer = \"https://github.com\"\n"), "providers.github.issuer", "base_url"},
		{"github scopes", edit(t, "client_secret = \"gh-secret\"\n", "client_secret = \"gh-secret\"\nscopes = [\"repo\"]\n"), "providers.github.scopes", "not used"},
		{"github base url bad", edit(t, "client_secret = \"gh-secret\"\n", "client_secret = \"gh-secret\"\nbase_url = \"ghe.example.com\"\n"), "providers.github.base_url", "absolute"},
		{"github api url query", edit(t, "client_secret = \"gh-secret\"\n", "client_secret = \"gh-secret\"\napi_url = \"https://api.github.com?x\"\n"), "providers.github.api_url", "query"},
		{"base url on oidc", edit(t, "client_id = \"corp-id\"\n", "client_id = \"corp-id\"\nbase_url = \"https://x.example\"\n"), "providers.corp.base_url", "only for github"},
		{"api url on google", edit(t, "client_secret = \"g-secret\"\n", "client_secret = \"g-secret\"\napi_url = \"https://x.example\"\n"), "providers.google.api_url", "only for github"},
		{"hosted domain on github", edit(t, "client_secret = \"gh-secret\"\n", "client_secret = \"gh-secret\"\nhosted_domain = \"acme.com\"\n"), "providers.github.hosted_domain", "only for google"},
		{"no providers", strings.Replace(strings.Replace(strings.Replace(valid,
			"[providers.google]\nclient_id = \"g-id\"\nclient_secret = \"g-secret\"\n", "", 1),
			"[providers.github]\nclient_id = \"gh-id\"\nclient_secret = \"gh-secret\"\n", "", 1),
			"[providers.corp]\ntype = \"oidc\"\nissuer = \"https://idp.example.com/\"\nclient_id = \"corp-id\"\n", "", 1),
			"providers", "at least one"},

		// tenants
		{"no tenants", strings.Replace(valid, tenantBlock, "", 1), "tenants", "at least one"},
		{"tenant id missing", edit(t, "id = \"acme-admin\"\n", ""), "tenants[0].id", "required"},
		{"tenant id charset", edit(t, `id = "acme-admin"`, `id = "acme admin"`), "tenants[0].id", "A-Z"},
		{"tenant id duplicate", valid + tenantBlock, "tenants[1].id", "tenants[0]"},
		{"tenant provider unknown", edit(t, `providers = ["google", "github", "corp"]`, `providers = ["google", "gitlab"]`), "tenants[0].providers[1]", `"gitlab"`},
		{"tenant provider twice", edit(t, `providers = ["google", "github", "corp"]`, `providers = ["google", "google"]`), "tenants[0].providers[1]", "twice"},
		{"tenant no providers", edit(t, `providers = ["google", "github", "corp"]`, `providers = []`), "tenants[0].providers", "at least one"},
		{"tenant providers absent", edit(t, "providers = [\"google\", \"github\", \"corp\"]\n", ""), "tenants[0].providers", "at least one"},
		{"redirect uris empty", edit(t, `redirect_uris = ["http://localhost:5173/callback", "https://admin.acme.com/callback", "com.acme.app:/cb"]`, `redirect_uris = []`), "tenants[0].redirect_uris", "at least one"},
		{"redirect http not loopback", edit(t, `"https://admin.acme.com/callback"`, `"http://admin.acme.com/callback"`), "tenants[0].redirect_uris[1]", "RFC 9700"},
		{"redirect fragment", edit(t, `"https://admin.acme.com/callback"`, `"https://admin.acme.com/callback#x"`), "tenants[0].redirect_uris[1]", "fragment"},
		{"redirect relative", edit(t, `"https://admin.acme.com/callback"`, `"/callback"`), "tenants[0].redirect_uris[1]", "absolute"},
		{"redirect wildcard", edit(t, `"https://admin.acme.com/callback"`, `"https://*.acme.com/callback"`), "tenants[0].redirect_uris[1]", "wildcard"},
		{"redirect javascript", edit(t, `"com.acme.app:/cb"`, `"javascript:alert(1)"`), "tenants[0].redirect_uris[2]", "private-use"},
		{"redirect empty", edit(t, `"com.acme.app:/cb"`, `""`), "tenants[0].redirect_uris[2]", "empty"},
		{"redirect https no host", edit(t, `"https://admin.acme.com/callback"`, `"https:///callback"`), "tenants[0].redirect_uris[1]", "no host"},
		{"post logout http", edit(t, `post_logout_redirect_uris = ["http://localhost:5173/"]`, `post_logout_redirect_uris = ["http://acme.com/"]`), "tenants[0].post_logout_redirect_uris[0]", "http is only allowed"},
		{"origin star", edit(t, `"https://admin.acme.com"]`, `"*"]`), "tenants[0].allowed_origins[1]", "*"},
		{"origin null", edit(t, `"https://admin.acme.com"]`, `"null"]`), "tenants[0].allowed_origins[1]", "null"},
		{"origin with path", edit(t, `"https://admin.acme.com"]`, `"https://admin.acme.com/"]`), "tenants[0].allowed_origins[1]", "no path"},
		{"origin uppercase", edit(t, `"https://admin.acme.com"]`, `"https://Admin.acme.com"]`), "tenants[0].allowed_origins[1]", `"https://admin.acme.com"`},
		{"origin default port", edit(t, `"https://admin.acme.com"]`, `"https://admin.acme.com:443"]`), "tenants[0].allowed_origins[1]", `"https://admin.acme.com"`},
		{"origin not http", edit(t, `"https://admin.acme.com"]`, `"ftp://admin.acme.com"]`), "tenants[0].allowed_origins[1]", "want an origin"},
		{"access domain with at", edit(t, `email_domains = ["acme.com"]`, `email_domains = ["@acme.com"]`), "tenants[0].access.email_domains[0]", "domain alone"},
		{"access org empty", edit(t, `email_domains = ["acme.com"]`, `github_orgs = [""]`), "tenants[0].access.github_orgs[0]", "empty"},
		{"role name missing", edit(t, `role = "admin"`, ``), "tenants[0].roles[0].role", "required"},
		{"role grants nobody", edit(t, `emails = ["alice@acme.com"]`, ``), "tenants[0].roles[0]", "nobody"},
		{"client secret short", edit(t, "providers = [\"google\", \"github\", \"corp\"]\n",
			"providers = [\"google\", \"github\", \"corp\"]\nclient_secret = \""+strings.Repeat("s", 31)+"\"\n"),
			"tenants[0].client_secret", "too short (31 characters): use at least 32"},
		{"client secret short in characters", edit(t, "providers = [\"google\", \"github\", \"corp\"]\n",
			"providers = [\"google\", \"github\", \"corp\"]\nclient_secret = \""+strings.Repeat("é", 16)+"\"\n"),
			"tenants[0].client_secret", "too short (16 characters)"},
		{"sso idle zero", valid + "[sso]\nidle_ttl = \"0s\"\n", "sso.idle_ttl", "positive"},
		{"sso max zero", valid + "[sso]\nmax_ttl = \"0s\"\n", "sso.max_ttl", "positive"},
		{"sso idle above max", valid + "[sso]\nidle_ttl = \"48h\"\n", "sso.idle_ttl", "longer than sso.max_ttl"},
		{"backchannel plain http", backchannel(t, "http://app.acme.com/logout"), "tenants[0].backchannel_logout_uri", "only allowed for localhost"},
		{"backchannel relative", backchannel(t, "/logout"), "tenants[0].backchannel_logout_uri", "https://"},
		{"backchannel fragment", backchannel(t, "https://app.acme.com/logout#x"), "tenants[0].backchannel_logout_uri", "fragment"},
		{"backchannel credentials", backchannel(t, "https://u:p@app.acme.com/logout"), "tenants[0].backchannel_logout_uri", "user:password"},
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

func TestValidVariants(t *testing.T) {
	tests := []struct {
		name   string
		config string
	}{
		{"redirect 127.0.0.1", edit(t, `"http://localhost:5173/callback"`, `"http://127.0.0.1:3000/cb"`)},
		{"redirect ::1", edit(t, `"http://localhost:5173/callback"`, `"http://[::1]:3000/cb"`)},
		{"redirect private-use double slash", edit(t, `"com.acme.app:/cb"`, `"com.acme.app://oauth/cb"`)},
		{"origin with port", edit(t, `"https://admin.acme.com"]`, `"https://admin.acme.com:8443"]`)},
		{"origin ipv6", edit(t, `"https://admin.acme.com"]`, `"http://[::1]:5173"]`)},
		{"postgres", edit(t, `"sqlite:./broker.db"`, `"postgres://broker:pw@db:5432/broker?sslmode=disable"`)},
		{"postgresql", edit(t, `"sqlite:./broker.db"`, `"postgresql://broker@db/broker"`)},
		{"listen all interfaces", edit(t, `listen = "127.0.0.1:8080"`, `listen = ":8080"`)},
		{"metrics listen", edit(t, `listen = "127.0.0.1:8080"`, "listen = \"127.0.0.1:8080\"\nmetrics_listen = \"10.0.0.5:9090\"")},
		{"metrics listen and listen on free ports", edit(t, `listen = "127.0.0.1:8080"`, "listen = \"127.0.0.1:0\"\nmetrics_listen = \"127.0.0.1:0\"")},
		{"grace zero", edit(t, `refresh_reuse_grace = "10s"`, `refresh_reuse_grace = "0s"`)},
		{"eddsa", edit(t, `"ES256"`, `"EdDSA"`)},
		{"client secret of 32 characters", edit(t, "providers = [\"google\", \"github\", \"corp\"]\n",
			"providers = [\"google\", \"github\", \"corp\"]\nclient_secret = \""+strings.Repeat("s", 32)+"\"\n")},
		{"log level upper", edit(t, `log_level = "info"`, `log_level = "DEBUG"`)},
		{"github enterprise second provider", valid + "[providers.ghe]\ntype = \"github\"\nclient_id = \"x\"\nclient_secret = \"y\"\nbase_url = \"https://ghe.example.com/\"\napi_url = \"https://ghe.example.com/api/v3\"\n"},
		{"inline array of tables", edit(t,
			"[[tenants.roles]]\nrole = \"admin\"\nemails = [\"alice@acme.com\"]\n", "",
			"[tenants.access]\n", "roles = [{role = \"admin\", everyone = true}]\n[tenants.access]\n")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Parse([]byte(tt.config), noEnv); err != nil {
				t.Errorf("Parse: %v", err)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	const minimal = `issuer = "http://127.0.0.1:8080"
[providers.google]
client_id = "g"
client_secret = "gs"
[providers.github]
client_id = "h"
client_secret = "hs"
[providers.corp]
type = "oidc"
issuer = "https://idp.example.com"
client_id = "c"
[[tenants]]
id = "app"
redirect_uris = ["https://app.example.com/cb"]
providers = ["google"]
`
	c, err := Parse([]byte(minimal), noEnv)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	d := func(s string) Duration {
		v, err := time.ParseDuration(s)
		if err != nil {
			t.Fatal(err)
		}
		return Duration{v}
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"listen", c.Listen, "127.0.0.1:8080"},
		{"database.url", c.Database.URL, "sqlite:./broker.db"},
		{"log_level", c.LogLevel, "info"},
		{"upstream_timeout", c.UpstreamTimeout, d("10s")},
		{"login_ttl", c.LoginTTL, d("10m")},
		{"shutdown_delay", c.ShutdownDelay, d("5s")},
		{"max_in_flight", c.MaxInFlight, 1024},
		{"signing_alg", c.Tokens.SigningAlg, "ES256"},
		{"access_ttl", c.Tokens.AccessTTL, d("15m")},
		{"id_token_ttl", c.Tokens.IDTokenTTL, d("1h")},
		{"refresh_idle_ttl", c.Tokens.RefreshIdleTTL, d("720h")},
		{"refresh_max_ttl", c.Tokens.RefreshMaxTTL, d("2160h")},
		{"refresh_reuse_grace", c.Tokens.RefreshReuseGrace, d("10s")},
		{"code_ttl", c.Tokens.CodeTTL, d("60s")},
		{"key_rotation", c.Tokens.KeyRotation, d("720h")},
		{"google.name", c.Providers["google"].Name, "google"},
		{"google.type", c.Providers["google"].Type, "google"},
		{"google.issuer", c.Providers["google"].Issuer, "https://accounts.google.com"},
		{"google.scopes", c.Providers["google"].Scopes, []string{"openid", "email", "profile"}},
		{"google.trust_email", *c.Providers["google"].TrustEmail, true},
		{"google.display_name", c.Providers["google"].DisplayName, "Google"},
		{"github.type", c.Providers["github"].Type, "github"},
		{"github.base_url", c.Providers["github"].BaseURL, "https://github.com"},
		{"github.api_url", c.Providers["github"].APIURL, "https://api.github.com"},
		{"github.trust_email", *c.Providers["github"].TrustEmail, true},
		{"github.display_name", c.Providers["github"].DisplayName, "GitHub"},
		{"github.scopes", c.Providers["github"].Scopes, []string(nil)},
		{"corp.name", c.Providers["corp"].Name, "corp"},
		{"corp.scopes", c.Providers["corp"].Scopes, []string{"openid", "email", "profile"}},
		{"corp.trust_email", *c.Providers["corp"].TrustEmail, false},
		{"corp.display_name", c.Providers["corp"].DisplayName, "corp"},
		{"tenant.name", c.Tenants[0].Name, "app"},
		{"tenant.confidential", c.Tenants[0].Confidential(), false},
	}
	for _, ck := range checks {
		if !reflect.DeepEqual(ck.got, ck.want) {
			t.Errorf("%s = %v, want %v", ck.name, ck.got, ck.want)
		}
	}
}

func TestExplicitValuesOverrideDefaults(t *testing.T) {
	c, err := Parse([]byte(edit(t,
		`refresh_reuse_grace = "10s"`, `refresh_reuse_grace = "0s"`,
		"type = \"oidc\"\n", "type = \"oidc\"\ntrust_email = true\n",
		"client_secret = \"g-secret\"\n", "client_secret = \"g-secret\"\ntrust_email = false\n",
	)), noEnv)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if got := c.Tokens.RefreshReuseGrace.Duration; got != 0 {
		t.Errorf("refresh_reuse_grace = %v, want 0 (explicit zero is not defaulted)", got)
	}
	if p := c.Providers["corp"]; !p.TrustsEmail() {
		t.Errorf("corp TrustsEmail = false, want true")
	}
	if p := c.Providers["google"]; p.TrustsEmail() {
		t.Errorf("google TrustsEmail = true, want false")
	}
}

func TestEnvExpansion(t *testing.T) {
	config := `issuer = "${ISSUER}"
[tokens]
access_ttl = "${ACCESS_TTL}"
[providers.google]
client_id = "${GOOGLE_CLIENT_ID}"
client_secret = "${GOOGLE_CLIENT_SECRET}"
[[tenants]]
id = "app"
redirect_uris = ["https://app.example.com/cb", "https://${APP_HOST}:${APP_PORT}/cb"]
providers = ["google"]
client_secret = "${APP_SECRET}"
[[tenants.roles]]
role = "admin"
emails = ["${ADMIN_EMAIL}"]
`
	getenv := env(map[string]string{
		"ISSUER":               "https://auth.example.com",
		"ACCESS_TTL":           "5m",
		"GOOGLE_CLIENT_ID":     "gid",
		"GOOGLE_CLIENT_SECRET": "gsecret",
		"APP_HOST":             "app2.example.com",
		"APP_PORT":             "8443",
		"APP_SECRET":           "s3cret-from-the-environment-0123456789",
		"ADMIN_EMAIL":          "alice@example.com",
	})
	c, err := Parse([]byte(config), getenv)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"issuer", c.Issuer, "https://auth.example.com"},
		{"tokens.access_ttl", c.Tokens.AccessTTL.Duration, 5 * time.Minute},
		{"providers.google.client_id", c.Providers["google"].ClientID, "gid"},
		{"providers.google.client_secret", c.Providers["google"].ClientSecret, "gsecret"},
		{"tenants[0].redirect_uris[1]", c.Tenants[0].RedirectURIs[1], "https://app2.example.com:8443/cb"},
		{"tenants[0].client_secret", c.Tenants[0].ClientSecret, "s3cret-from-the-environment-0123456789"},
		{"tenants[0].roles[0].emails[0]", c.Tenants[0].Roles[0].Emails[0], "alice@example.com"},
	}
	for _, ck := range checks {
		if !reflect.DeepEqual(ck.got, ck.want) {
			t.Errorf("%s = %v, want %v", ck.name, ck.got, ck.want)
		}
	}
	if !c.Tenants[0].Confidential() {
		t.Errorf("tenant with client_secret: Confidential() = false, want true")
	}
}

func TestMissingEnv(t *testing.T) {
	config := `issuer = "https://auth.example.com"
[providers.google]
client_id = "${GOOGLE_CLIENT_ID}"
client_secret = "${GOOGLE_CLIENT_SECRET}"
[[tenants]]
id = "app"
redirect_uris = ["https://${APP_HOST}/cb"]
providers = ["google"]
`
	_, err := Parse([]byte(config), env(map[string]string{"GOOGLE_CLIENT_SECRET": "x"}))
	got := problemsOf(t, err)
	want := []string{
		"providers.google.client_id: environment variable GOOGLE_CLIENT_ID is not set",
		"tenants[0].redirect_uris[0]: environment variable APP_HOST is not set",
	}
	// Only the missing variables: no "client_id: required" echo of the same fault.
	if !reflect.DeepEqual(got, want) {
		t.Errorf("problems =\n  %q\nwant\n  %q", got, want)
	}
}

func TestEnvCannotInjectTOML(t *testing.T) {
	tests := []struct {
		name  string
		value string
	}{
		{"quote and new key", "x\"\nclient_secret = \"evil"},
		{"close array and new table", "https://a.example/cb\"]\n[[tenants]]\nid = \"evil"},
		{"backslashes", `a\"b\\`},
		{"nested reference stays literal", "${GOOGLE_CLIENT_SECRET}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			config := `issuer = "https://auth.example.com"
[providers.google]
client_id = "${INJECT}"
client_secret = "${GOOGLE_CLIENT_SECRET}"
[[tenants]]
id = "app"
name = "${INJECT}"
redirect_uris = ["https://app.example.com/cb"]
providers = ["google"]
`
			c, err := Parse([]byte(config), env(map[string]string{
				"INJECT":               tt.value,
				"GOOGLE_CLIENT_SECRET": "real-secret",
			}))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := c.Providers["google"].ClientID; got != tt.value {
				t.Errorf("client_id = %q, want the variable verbatim %q", got, tt.value)
			}
			if got := c.Providers["google"].ClientSecret; got != "real-secret" {
				t.Errorf("client_secret = %q, want %q", got, "real-secret")
			}
			if got := len(c.Tenants); got != 1 {
				t.Errorf("len(tenants) = %d, want 1", got)
			}
			if got := c.Tenants[0].Name; got != tt.value {
				t.Errorf("tenant name = %q, want %q", got, tt.value)
			}
		})
	}
}

func TestUnknownKeys(t *testing.T) {
	tests := []struct {
		name    string
		config  string
		wantKey string
	}{
		{"top level", "foo = 1\n" + valid, "foo"},
		{"in tokens", edit(t, `access_ttl = "15m"`, `acess_ttl = "15m"`), "tokens.acess_ttl"},
		{"in provider", edit(t, `client_id = "g-id"`, `clientid = "g-id"`), "providers.google.clientid"},
		{"provider name is not settable", edit(t, `client_id = "g-id"`, "client_id = \"g-id\"\nname = \"x\""), "providers.google.name"},
		{"in tenant", edit(t, "\nredirect_uris = [", "\nredirect_uri = ["), "tenants[0].redirect_uri"},
		{"in second tenant", valid + strings.Replace(tenantBlock, `id = "acme-admin"`, "id = \"other\"\nsecret = \"x\"", 1), "tenants[1].secret"},
		{"in access", edit(t, `email_domains = ["acme.com"]`, `domains = ["acme.com"]`), "tenants[0].access.domains"},
		{"in role", edit(t, `emails = ["alice@acme.com"]`, `email = ["alice@acme.com"]`), "tenants[0].roles[0].email"},
		{"unknown table", valid + "[server]\nport = 1\n", "server"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.config), noEnv)
			want := tt.wantKey + ": unknown key"
			if err == nil || !slicesContain(problemsOf(t, err), want) {
				t.Errorf("got %v, want a problem %q", err, want)
			}
		})
	}
}

func TestTypeMismatch(t *testing.T) {
	tests := []struct {
		name   string
		config string
		want   string
	}{
		{"string for array", edit(t, `allowed_origins = ["http://localhost:5173", "https://admin.acme.com"]`, `allowed_origins = "http://localhost:5173"`),
			"tenants[0].allowed_origins: want an array of strings, got a string"},
		{"number in string array", edit(t, `email_domains = ["acme.com"]`, `email_domains = [1]`),
			"tenants[0].access.email_domains[0]: want a string, got an integer"},
		{"string for bool", edit(t, `emails = ["alice@acme.com"]`, `everyone = "yes"`),
			"tenants[0].roles[0].everyone: want true or false, got a string"},
		{"string for table", edit(t, "[database]\nurl = \"sqlite:./broker.db\"\n", "database = \"sqlite:./x.db\"\n"),
			"database: want a table, got a string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.config), noEnv)
			if err == nil || !slicesContain(problemsOf(t, err), tt.want) {
				t.Errorf("got %v, want a problem %q", err, tt.want)
			}
		})
	}
}

func TestAllProblemsReportedTogether(t *testing.T) {
	config := edit(t,
		`issuer = "https://auth.example.com/"`, `issuer = "auth.example.com"`,
		`"ES256"`, `"HS256"`,
		`access_ttl = "15m"`, `acess_ttl = "15m"`,
		`client_id = "g-id"`, `client_id = "${NOPE}"`,
		`"https://admin.acme.com/callback"`, `"http://admin.acme.com/callback"`,
		`"https://admin.acme.com"]`, `"*"]`,
	)
	_, err := Parse([]byte(config), noEnv)
	got := problemsOf(t, err)
	wantKeys := []string{
		"providers.google.client_id: environment variable NOPE",
		"tokens.acess_ttl: unknown key",
		"issuer: ",
		"tokens.signing_alg: ",
		"tenants[0].redirect_uris[1]: ",
		"tenants[0].allowed_origins[1]: ",
	}
	if len(got) != len(wantKeys) {
		t.Errorf("got %d problems %q, want %d", len(got), got, len(wantKeys))
	}
	for _, w := range wantKeys {
		found := false
		for _, p := range got {
			if strings.HasPrefix(p, w) {
				found = true
			}
		}
		if !found {
			t.Errorf("missing problem starting %q in %q", w, got)
		}
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "invalid configuration (6 problems):\n  - ") {
		t.Errorf("Error() = %q, want a multi-line list", msg)
	}
}

func TestErrorsNeverShowSecrets(t *testing.T) {
	config := edit(t, `"sqlite:./broker.db"`, `"mysql://broker:hunter2@db/broker"`)
	_, err := Parse([]byte(config), noEnv)
	if err == nil {
		t.Fatal("Parse: got nil error")
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Errorf("error %q shows the database password", err)
	}
}

func TestSyntaxError(t *testing.T) {
	_, err := Parse([]byte("issuer = \"unterminated\n"), noEnv)
	if err == nil {
		t.Fatal("Parse: got nil error")
	}
	var ve *ValidationError
	if errors.As(err, &ve) {
		t.Errorf("syntax error is a *ValidationError, want the toml parse error")
	}
	if !strings.Contains(err.Error(), "line 1") {
		t.Errorf("error %q does not name the line", err)
	}
}

func TestValidationErrorFormat(t *testing.T) {
	one := &ValidationError{Problems: []string{"issuer: required"}}
	if got, want := one.Error(), "invalid configuration: issuer: required"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	two := &ValidationError{Problems: []string{"issuer: required", "listen: bad"}}
	if got, want := two.Error(), "invalid configuration (2 problems):\n  - issuer: required\n  - listen: bad"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(path, []byte(`issuer = "nope"`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path, noEnv)
	if err == nil || !strings.HasPrefix(err.Error(), path+": invalid configuration") {
		t.Errorf("Load error = %v, want it prefixed with the path", err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.toml"), noEnv); err == nil {
		t.Error("Load of a missing file: got nil error")
	}
}

// The repository's own config.toml is a working starting point.
func TestRepoConfig(t *testing.T) {
	fake := func(name string) string { return "fake-" + strings.ToLower(name) }
	c, err := Load("../../config.toml", fake)
	if err != nil {
		t.Fatalf("Load(config.toml): %v", err)
	}
	if got, want := c.Providers["google"].ClientID, "fake-google_client_id"; got != want {
		t.Errorf("google client_id = %q, want %q", got, want)
	}
	i := slices.IndexFunc(c.Tenants, func(t Tenant) bool { return t.ID == "acme-admin" })
	if i < 0 {
		t.Fatal("tenant acme-admin not found")
	}
	tn := c.Tenants[i]
	if got, want := tn.Providers, []string{"google", "github"}; !reflect.DeepEqual(got, want) {
		t.Errorf("acme-admin providers = %q, want %q", got, want)
	}
	if len(tn.Roles) != 2 || len(tn.Access.EmailDomains) == 0 {
		t.Errorf("acme-admin: roles %v, access %v; want two roles and an email domain", tn.Roles, tn.Access)
	}

	// Without the environment, the secrets it names are reported.
	_, err = Load("../../config.toml", noEnv)
	if err == nil || !strings.Contains(err.Error(), "providers.google.client_id: environment variable GOOGLE_CLIENT_ID is not set") {
		t.Errorf("Load without env: got %v, want GOOGLE_CLIENT_ID named", err)
	}
}

func TestHelpers(t *testing.T) {
	c := &Config{TrustedProxies: []string{"10.1.2.3/8", "192.168.1.1", "::1"}}
	want := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("192.168.1.1/32"),
		netip.MustParsePrefix("::1/128"),
	}
	if got := c.TrustedProxyPrefixes(); !reflect.DeepEqual(got, want) {
		t.Errorf("TrustedProxyPrefixes = %v, want %v", got, want)
	}

	var d Duration
	if err := d.UnmarshalText([]byte("1h30m")); err != nil {
		t.Fatal(err)
	}
	text, _ := d.MarshalText()
	if got, want := string(text), "1h30m0s"; got != want {
		t.Errorf("MarshalText = %q, want %q", got, want)
	}
	var p Provider
	if p.TrustsEmail() {
		t.Error("zero Provider TrustsEmail = true, want false")
	}
}

func slicesContain(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
