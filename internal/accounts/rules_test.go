package accounts

import (
	"slices"
	"testing"

	"github.com/socialbroker/broker/internal/config"
	"github.com/socialbroker/broker/providers"
)

func TestFactsOf(t *testing.T) {
	tests := []struct {
		name         string
		id           providers.Identity
		providerType string
		want         Facts
	}{
		{
			name:         "verified emails lower-cased, primary not repeated",
			id:           providers.Identity{Email: "Alice@Acme.com", EmailVerified: true, EmailTrusted: true, VerifiedEmails: []string{"ALICE@acme.com", "a@Other.example"}},
			providerType: "google",
			want:         Facts{VerifiedEmails: []string{"alice@acme.com", "a@other.example"}},
		},
		{
			name:         "verified primary missing from the list is added",
			id:           providers.Identity{Email: "alice@acme.com", EmailVerified: true, EmailTrusted: true},
			providerType: "oidc",
			want:         Facts{VerifiedEmails: []string{"alice@acme.com"}},
		},
		{
			// The nOAuth pattern: a provider not trusted for email (an
			// OIDC issuer without trust_email) vouches for nothing.
			name:         "verified by a provider not trusted for email",
			id:           providers.Identity{Email: "admin@acme.com", EmailVerified: true, VerifiedEmails: []string{"admin@acme.com"}},
			providerType: "oidc",
			want:         Facts{},
		},
		{
			name:         "no Unicode case folding: U+0130 stays in the local part",
			id:           providers.Identity{Email: "al\u0130ce@acme.com", EmailVerified: true, EmailTrusted: true},
			providerType: "google",
			want:         Facts{VerifiedEmails: []string{"al\u0130ce@acme.com"}},
		},
		{
			name:         "international domain in its IDNA ASCII form",
			id:           providers.Identity{Email: "anna@B\u00fccher.example", EmailVerified: true, EmailTrusted: true},
			providerType: "google",
			want:         Facts{VerifiedEmails: []string{"anna@xn--bcher-kva.example"}},
		},
		{
			name:         "a domain that only Unicode folding would make valid matches nothing",
			id:           providers.Identity{Email: "x@acme.te\u017ft", EmailVerified: true, EmailTrusted: true},
			providerType: "google",
			want:         Facts{},
		},
		{
			name:         "unverified primary ignored",
			id:           providers.Identity{Email: "alice@acme.com", EmailVerified: false},
			providerType: "google",
			want:         Facts{},
		},
		{
			name:         "organisations of a GitHub identity, lower-cased",
			id:           providers.Identity{Groups: []string{"Acme", "other"}},
			providerType: GitHubType,
			want:         Facts{GitHub: true, Groups: []string{"acme", "other"}},
		},
		{
			// An OIDC provider's groups are kept as spelled (groups rules
			// compare exactly); github_orgs rules ignore them (TestAllowed).
			name:         "groups of another provider, as spelled",
			id:           providers.Identity{Groups: []string{"Eng", "acme"}},
			providerType: "oidc",
			want:         Facts{Groups: []string{"Eng", "acme"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := FactsOf(&tt.id, tt.providerType)
			if !slices.Equal(got.VerifiedEmails, tt.want.VerifiedEmails) || got.GitHub != tt.want.GitHub || !slices.Equal(got.Groups, tt.want.Groups) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func verifiedAt(email string) providers.Identity {
	return providers.Identity{Email: email, EmailVerified: true, EmailTrusted: true}
}

func TestAllowed(t *testing.T) {
	acme := config.Access{EmailDomains: []string{"acme.com"}}
	orgs := config.Access{GitHubOrgs: []string{"acme"}}
	both := config.Access{EmailDomains: []string{"acme.com"}, GitHubOrgs: []string{"acme"}}
	tests := []struct {
		name         string
		access       config.Access
		id           providers.Identity
		providerType string
		want         bool
	}{
		{"no rules admit anyone", config.Access{}, providers.Identity{}, "google", true},

		{"email in domain", acme, verifiedAt("bob@acme.com"), "google", true},
		{"email domain in another case", acme, verifiedAt("Bob@ACME.com"), "google", true},
		{"configured domain in another case", config.Access{EmailDomains: []string{"Acme.COM"}}, verifiedAt("bob@acme.com"), "google", true},
		{"second configured domain", config.Access{EmailDomains: []string{"other.example", "acme.com"}}, verifiedAt("bob@acme.com"), "google", true},
		{"any verified email counts", acme, providers.Identity{Email: "bob@gmail.com", EmailVerified: true, EmailTrusted: true, VerifiedEmails: []string{"bob@gmail.com", "bob@acme.com"}}, "github", true},
		{"unverified email in domain", acme, providers.Identity{Email: "bob@acme.com"}, "google", false},
		{"no email", acme, providers.Identity{}, "google", false},
		{"other domain", acme, verifiedAt("bob@other.example"), "google", false},
		{"two @, domain after the last", acme, verifiedAt("a@b@acme.com"), "google", false},
		{"subdomain", acme, verifiedAt("bob@eu.acme.com"), "google", false},
		{"suffix without dot", acme, verifiedAt("bob@notacme.com"), "google", false},
		{"domain as local part", acme, verifiedAt("acme.com@evil.example"), "google", false},
		{"no @ at all", acme, verifiedAt("acme.com"), "google", false},

		{"GitHub member", orgs, providers.Identity{Groups: []string{"acme"}}, GitHubType, true},
		{"GitHub member, org in another case", orgs, providers.Identity{Groups: []string{"ACME"}}, GitHubType, true},
		{"GitHub non-member", orgs, providers.Identity{Groups: []string{"other"}}, GitHubType, false},
		{"GitHub without orgs", orgs, providers.Identity{}, GitHubType, false},
		// Fail closed: an identity that cannot satisfy the org rule is
		// refused by it, not waved through.
		{"non-GitHub identity under an org rule", orgs, verifiedAt("bob@gmail.com"), "google", false},
		{"OIDC identity claiming orgs under an org rule", orgs, providers.Identity{Groups: []string{"acme"}}, "oidc", false},

		{"group member", config.Access{Groups: []string{"eng"}}, providers.Identity{Groups: []string{"ops", "eng"}}, "gitlab", true},
		{"GitHub org as a group", config.Access{Groups: []string{"acme"}}, providers.Identity{Groups: []string{"Acme"}}, GitHubType, true},
		{"not in the group", config.Access{Groups: []string{"eng"}}, providers.Identity{Groups: []string{"ops"}}, "oidc", false},
		{"group compared exactly", config.Access{Groups: []string{"eng"}}, providers.Identity{Groups: []string{"ENG"}}, "oidc", false},
		{"no groups at all under a group rule", config.Access{Groups: []string{"eng"}}, verifiedAt("bob@acme.com"), "google", false},
		{"group or domain: the domain admits", config.Access{Groups: []string{"eng"}, EmailDomains: []string{"acme.com"}}, verifiedAt("bob@acme.com"), "google", true},

		{"both rules, GitHub member with domain email", both, providers.Identity{Email: "bob@acme.com", EmailVerified: true, Groups: []string{"acme"}}, GitHubType, true},
		// Either rule admits (contract: github_orgs refuses "unless
		// email_domains admits them").
		{"both rules, GitHub member without domain email", both, providers.Identity{Email: "bob@gmail.com", EmailVerified: true, EmailTrusted: true, Groups: []string{"acme"}}, GitHubType, true},
		{"both rules, GitHub non-member with domain email", both, providers.Identity{Email: "bob@acme.com", EmailVerified: true, EmailTrusted: true, Groups: []string{"other"}}, GitHubType, true},
		{"both rules, Google with domain email", both, verifiedAt("bob@acme.com"), "google", true},
		{"both rules, neither", both, providers.Identity{Email: "bob@gmail.com", EmailVerified: true, EmailTrusted: true, Groups: []string{"other"}}, GitHubType, false},

		{"verified but from a provider not trusted for email", acme, providers.Identity{Email: "bob@acme.com", EmailVerified: true}, "oidc", false},
		// Unicode folding must never turn another domain into a rule's.
		{"U+017F folded into s by EqualFold", config.Access{EmailDomains: []string{"acme.test"}}, verifiedAt("x@acme.te\u017ft"), "google", false},
		{"U+212A (Kelvin) folded into k by EqualFold", config.Access{EmailDomains: []string{"kacme.test"}}, verifiedAt("x@\u212Aacme.test"), "google", false},
		{"U+0130 lowered to i by ToLower", config.Access{EmailDomains: []string{"iacme.test"}}, verifiedAt("x@\u0130acme.test"), "google", false},
		{"international domain configured in Unicode", config.Access{EmailDomains: []string{"b\u00fccher.example"}}, verifiedAt("anna@xn--bcher-kva.example"), "google", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, reason := Allowed(tt.access, FactsOf(&tt.id, tt.providerType))
			if got != tt.want {
				t.Fatalf("Allowed: got %v (%q), want %v", got, reason, tt.want)
			}
			if got != (reason == "") {
				t.Errorf("reason: got %q with allowed=%v; want a reason exactly when refused", reason, got)
			}
		})
	}
}

func TestRoles(t *testing.T) {
	rules := []config.Role{
		{Role: "admin", Emails: []string{"Alice@acme.com"}},
		{Role: "staff", EmailDomains: []string{"acme.com"}},
		{Role: "dev", GitHubOrgs: []string{"Acme"}},
		{Role: "admin", GitHubOrgs: []string{"acme-admins"}}, // a second way to the same role
		{Role: "viewer", Everyone: true},
	}
	tests := []struct {
		name         string
		rules        []config.Role
		id           providers.Identity
		providerType string
		want         []string
	}{
		{"everyone only", rules, providers.Identity{}, "google", []string{"viewer"}},
		{"email match, case-insensitive", rules, verifiedAt("alice@ACME.com"), "google", []string{"admin", "staff", "viewer"}},
		{"U+0130 in the local part is not i", rules, verifiedAt("al\u0130ce@acme.com"), "google", []string{"staff", "viewer"}},
		{"verified by a provider not trusted for email earns nothing", rules, providers.Identity{Email: "alice@acme.com", EmailVerified: true}, "oidc", []string{"viewer"}},
		{"unverified email earns nothing", rules, providers.Identity{Email: "alice@acme.com"}, "google", []string{"viewer"}},
		{"domain", rules, verifiedAt("bob@acme.com"), "google", []string{"staff", "viewer"}},
		{"two @ is not in the domain", rules, verifiedAt("bob@x@acme.com"), "google", []string{"viewer"}},
		{"GitHub org", rules, providers.Identity{Groups: []string{"acme"}}, GitHubType, []string{"dev", "viewer"}},
		{"orgs claimed by a non-GitHub provider", rules, providers.Identity{Groups: []string{"acme", "acme-admins"}}, "oidc", []string{"viewer"}},
		{"a role by group", []config.Role{{Role: "ops", Groups: []string{"ops"}}}, providers.Identity{Groups: []string{"ops"}}, "gitlab", []string{"ops"}},
		{"role earned twice is listed once, in configuration order", rules,
			providers.Identity{Email: "alice@acme.com", EmailVerified: true, EmailTrusted: true, Groups: []string{"acme", "acme-admins"}}, GitHubType,
			[]string{"admin", "staff", "dev", "viewer"}},
		{"second rule for a role still grants it", rules, providers.Identity{Groups: []string{"acme-admins"}}, GitHubType, []string{"admin", "viewer"}},
		{"configuration order, not match order", []config.Role{
			{Role: "z", Everyone: true}, {Role: "a", Everyone: true}, {Role: "m", Everyone: true},
		}, providers.Identity{}, "google", []string{"z", "a", "m"}},
		{"no rules", nil, verifiedAt("alice@acme.com"), "google", []string{}},
		{"no match", []config.Role{{Role: "admin", Emails: []string{"alice@acme.com"}}}, verifiedAt("bob@acme.com"), "google", []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Roles(tt.rules, FactsOf(&tt.id, tt.providerType))
			if !slices.Equal(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if got == nil {
				t.Error("got nil, want an empty list: the roles claim is a JSON array")
			}
		})
	}
}

func TestNeedsGroups(t *testing.T) {
	tests := []struct {
		name   string
		tenant config.Tenant
		want   bool
	}{
		{"no rules", config.Tenant{}, false},
		{"email domains only", config.Tenant{Access: config.Access{EmailDomains: []string{"acme.com"}}, Roles: []config.Role{{Role: "staff", EmailDomains: []string{"acme.com"}}}}, false},
		{"everyone role", config.Tenant{Roles: []config.Role{{Role: "viewer", Everyone: true}}}, false},
		{"access by org", config.Tenant{Access: config.Access{GitHubOrgs: []string{"acme"}}}, true},
		{"a role by org", config.Tenant{Roles: []config.Role{{Role: "viewer", Everyone: true}, {Role: "dev", GitHubOrgs: []string{"acme"}}}}, true},
		{"access by group", config.Tenant{Access: config.Access{Groups: []string{"eng"}}}, true},
		{"a role by group", config.Tenant{Roles: []config.Role{{Role: "dev", Groups: []string{"eng"}}}}, true},
	}
	for _, tt := range tests {
		if got := NeedsGroups(&tt.tenant); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestNeedsTeams(t *testing.T) {
	for _, tc := range []struct {
		t    config.Tenant
		want bool
	}{
		{config.Tenant{Access: config.Access{GitHubOrgs: []string{"acme"}, Groups: []string{"eng"}}}, false},
		{config.Tenant{Access: config.Access{Groups: []string{"acme/admins"}}}, true},
		{config.Tenant{Roles: []config.Role{{Role: "a", Groups: []string{"acme"}}, {Role: "b", Groups: []string{"acme/web"}}}}, true},
	} {
		if got := NeedsTeams(&tc.t); got != tc.want {
			t.Errorf("NeedsTeams(%+v) = %v, want %v", tc.t, got, tc.want)
		}
	}
}

// GitHub organisation logins and team slugs are case-insensitive: a rule
// written "ACME/Admins" matches; other upstreams' groups compare exactly.
func TestGroupsCase(t *testing.T) {
	gh := FactsOf(&providers.Identity{Groups: []string{"Acme", "Acme/admins"}, Teams: true}, GitHubType)
	if !inGroups(gh, []string{"ACME/Admins"}) || !inGroups(gh, []string{"acme"}) {
		t.Errorf("GitHub groups %v: want a case-insensitive match", gh.Groups)
	}
	oidc := FactsOf(&providers.Identity{Groups: []string{"Eng"}}, "oidc")
	if inGroups(oidc, []string{"eng"}) || !inGroups(oidc, []string{"Eng"}) {
		t.Errorf("OIDC groups %v: want an exact match", oidc.Groups)
	}
}
