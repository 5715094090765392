package accounts

import (
	"slices"
	"strings"

	"github.com/socialbroker/broker/internal/config"
	"github.com/socialbroker/broker/providers"
)

// GitHubType is the provider type whose identities carry organisations.
const GitHubType = "github"

// Facts are what a tenant's rules may look at: only verified emails, and
// organisations only for GitHub identities.
type Facts struct {
	VerifiedEmails []string // lower-cased
	GitHub         bool     // the identity comes from a provider of type github
	Orgs           []string // lower-cased GitHub organisation logins
}

// FactsOf extracts the facts from an identity signed in through a provider
// of the given type.
func FactsOf(id *providers.Identity, providerType string) Facts {
	f := Facts{GitHub: providerType == GitHubType}
	for _, e := range id.VerifiedEmails {
		f.VerifiedEmails = append(f.VerifiedEmails, strings.ToLower(e))
	}
	if id.EmailVerified && id.Email != "" && !slices.Contains(f.VerifiedEmails, strings.ToLower(id.Email)) {
		f.VerifiedEmails = append(f.VerifiedEmails, strings.ToLower(id.Email))
	}
	if f.GitHub {
		for _, o := range id.Orgs {
			f.Orgs = append(f.Orgs, strings.ToLower(o))
		}
	}
	return f
}

// Allowed reports whether the tenant's access rules admit f, and if not,
// a reason fit to show the person.
//
// email_domains: some verified email must be in one of the domains.
// github_orgs: a GitHub identity must belong to one of the organisations.
func Allowed(a config.Access, f Facts) (bool, string) {
	if len(a.EmailDomains) > 0 && !anyEmailInDomains(f.VerifiedEmails, a.EmailDomains) {
		return false, "Your account has no verified email address in a domain this app accepts."
	}
	if len(a.GitHubOrgs) > 0 && f.GitHub && !intersects(f.Orgs, a.GitHubOrgs) {
		return false, "Your GitHub account is not a member of an organisation this app accepts."
	}
	return true, ""
}

// Roles returns the tenant roles f earns, in configuration order.
func Roles(rules []config.Role, f Facts) []string {
	roles := []string{}
	for _, r := range rules {
		if slices.Contains(roles, r.Role) {
			continue
		}
		if r.Everyone || intersects(f.VerifiedEmails, r.Emails) ||
			anyEmailInDomains(f.VerifiedEmails, r.EmailDomains) ||
			(f.GitHub && intersects(f.Orgs, r.GitHubOrgs)) {
			roles = append(roles, r.Role)
		}
	}
	return roles
}

// NeedsOrgs reports whether deciding access or roles for a GitHub
// identity needs its organisations.
func NeedsOrgs(t *config.Tenant) bool {
	if len(t.Access.GitHubOrgs) > 0 {
		return true
	}
	for _, r := range t.Roles {
		if len(r.GitHubOrgs) > 0 {
			return true
		}
	}
	return false
}

func anyEmailInDomains(emails, domains []string) bool {
	for _, e := range emails {
		_, domain, ok := strings.Cut(e, "@")
		if !ok {
			continue
		}
		for _, d := range domains {
			if strings.EqualFold(domain, d) {
				return true
			}
		}
	}
	return false
}

// intersects compares case-insensitively: emails and GitHub logins are.
func intersects(have, want []string) bool {
	for _, h := range have {
		for _, w := range want {
			if strings.EqualFold(h, w) {
				return true
			}
		}
	}
	return false
}
