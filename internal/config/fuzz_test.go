package config

import (
	"os"
	"strings"
	"testing"
)

// FuzzConfigParse feeds arbitrary bytes to Parse. It never panics, and a
// configuration it accepts holds to the rules the rest of the broker
// relies on without checking again.
func FuzzConfigParse(f *testing.F) {
	f.Add([]byte(valid))
	f.Add([]byte(valid + "\n[rate_limits]\ntoken_per_ip = \"5/s\"\nmax_keys = 1000\n"))
	if repo, err := os.ReadFile("../../config.toml"); err == nil {
		f.Add(repo)
	}
	f.Add([]byte(`issuer = "${ISSUER}"`))
	f.Add([]byte("[[tenants]]\nid = 1\n[tenants.access]\nemail_domains = [[]]\n"))
	f.Add([]byte("a = \"\\u0000\"\n[tokens]\naccess_ttl = \"-1s\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, func(name string) string { return "env-" + name })
		if err != nil {
			return
		}
		if msg := checkHTTPURL(c.Issuer); msg != "" || strings.HasSuffix(c.Issuer, "/") {
			t.Fatalf("accepted issuer %q: %s", c.Issuer, msg)
		}
		if len(c.Tenants) == 0 || len(c.Providers) == 0 {
			t.Fatal("accepted a configuration without tenants or providers")
		}
		for _, tn := range c.Tenants {
			if !tenantID.MatchString(tn.ID) || len(tn.RedirectURIs) == 0 {
				t.Fatalf("accepted tenant %q with redirect URIs %q", tn.ID, tn.RedirectURIs)
			}
			for _, u := range append(append([]string{}, tn.RedirectURIs...), tn.PostLogoutRedirectURIs...) {
				if msg := checkRedirectURI(u); msg != "" {
					t.Fatalf("accepted redirect URI %q: %s", u, msg)
				}
			}
			for _, o := range tn.AllowedOrigins {
				if o == "*" || o == "null" || checkOrigin(o) != "" {
					t.Fatalf("accepted origin %q", o)
				}
			}
			for _, p := range tn.Providers {
				if _, ok := c.Providers[p]; !ok {
					t.Fatalf("tenant %q names unknown provider %q", tn.ID, p)
				}
			}
		}
		tk := c.Tokens
		if tk.AccessTTL.Duration <= 0 || tk.CodeTTL.Duration <= 0 || tk.CodeTTL.Duration > 600e9 || tk.RefreshReuseGrace.Duration < 0 {
			t.Fatalf("accepted token lifetimes %+v", tk)
		}
		if c.RateLimits.MaxKeys < 100 {
			t.Fatalf("accepted rate_limits.max_keys %d", c.RateLimits.MaxKeys)
		}
	})
}
