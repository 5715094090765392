package accounts

import (
	"testing"

	"github.com/socialbroker/broker/internal/config"
	"github.com/socialbroker/broker/providers"
)

// BenchmarkJudge is what every refresh adds: the session's facts decoded
// and the tenant's rules applied to them.
func BenchmarkJudge(b *testing.B) {
	t := &config.Tenant{
		Access: config.Access{EmailDomains: []string{"acme.com"}},
		Roles: []config.Role{
			{Role: "admin", Emails: []string{"alice@acme.com"}},
			{Role: "dev", GitHubOrgs: []string{"acme"}},
			{Role: "viewer", Everyone: true},
		},
	}
	facts := FactsOf(&providers.Identity{Email: "alice@acme.com", EmailVerified: true, EmailTrusted: true, Groups: []string{"acme"}}, GitHubType).Encode()
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := Judge(t, facts, nil); !ok {
			b.Fatal("not admitted")
		}
	}
}
