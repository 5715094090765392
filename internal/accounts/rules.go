package accounts

import (
	"slices"
	"strings"

	"github.com/socialbroker/broker/internal/config"
	"github.com/socialbroker/broker/internal/email"
	"github.com/socialbroker/broker/providers"
)

// GitHubType is the provider type whose groups are organisations, which
// github_orgs rules name.
const GitHubType = "github"

// Facts are what a tenant's rules may look at: only addresses the broker
// vouches for, and the identity's upstream groups. A session keeps the
// facts of its sign-in (Encode), so that the rules can be applied again,
// as they are then, at every refresh (Judge).
type Facts struct {
	VerifiedEmails []string // vouched for, canonical (email.Canonical)
	GitHub         bool     // the identity comes from a provider of type github
	// Groups are the upstream's groups: GitHub organisation logins (ASCII
	// lower-cased: GitHub compares them so), GitLab groups, an OIDC
	// groups claim (as the upstream spells them). A GitHub identity's
	// teams are "org/team" (both lower-cased).
	Groups []string
	// Teams: Groups holds a GitHub identity's teams too (they are read
	// only when a tenant's rules name one).
	Teams bool
	// Subject, Username and Email are the identity's, for claim
	// expressions (internal/claims): Email only when the broker vouches
	// for it.
	Subject, Username, Email string
}

// FactsOf extracts the facts from an identity signed in through a provider
// of the given type.
func FactsOf(id *providers.Identity, providerType string) Facts {
	f := Facts{GitHub: providerType == GitHubType, VerifiedEmails: VouchedEmails(id),
		Subject: id.Subject, Username: id.Username}
	if e, vouched := vouchedPrimary(id); vouched {
		f.Email = e
	}
	for _, g := range id.Groups {
		if f.GitHub {
			g = email.ASCIILower(g)
		}
		f.Groups = append(f.Groups, g)
	}
	f.Teams = f.GitHub && id.Teams
	return f
}

// Judge applies tenant t's rules as they are now to a session's stored
// facts: whether t still admits the user, and the roles they earn now
// (contract: roles and access rules are applied again at every refresh).
// A session stored without facts, by an earlier broker, keeps the roles it
// was signed in with until it ends; facts that do not decode admit nobody.
func Judge(t *config.Tenant, facts []byte, signedIn []string) ([]string, bool) {
	if facts == nil {
		return signedIn, true
	}
	f, err := decodeFacts(facts)
	if err != nil {
		return nil, false
	}
	if ok, _ := Allowed(t.Access, f); !ok {
		return nil, false
	}
	return Roles(t.Roles, f), true
}

// Allowed reports whether the tenant's access rules admit f, and if not,
// a reason fit to show the person. No rule: anyone. Otherwise some named
// rule must admit f, and an identity that cannot satisfy a rule is not
// admitted by it (fail closed):
//
// email_domains: some vouched-for email is in one of the domains.
// github_orgs: a GitHub identity belongs to one of the organisations; a
// Google or OIDC identity never does.
// groups: the identity's upstream groups include one of them.
func Allowed(a config.Access, f Facts) (bool, string) {
	domains, orgs := len(a.EmailDomains) > 0, len(a.GitHubOrgs) > 0
	switch {
	case !domains && !orgs && len(a.Groups) == 0:
		return true, ""
	case domains && anyEmailInDomains(f.VerifiedEmails, a.EmailDomains):
		return true, ""
	case orgs && inOrgs(f, a.GitHubOrgs):
		return true, ""
	case inGroups(f, a.Groups):
		return true, ""
	case len(a.Groups) > 0:
		return false, "Your account is not in a group this app accepts."
	case domains && orgs:
		return false, "Your account has no verified email address in a domain this app accepts, and is not a GitHub account in an organisation it accepts."
	case domains:
		return false, "Your account has no verified email address in a domain this app accepts."
	case f.GitHub:
		return false, "Your GitHub account is not a member of an organisation this app accepts."
	default:
		return false, "This app accepts only GitHub accounts of the organisations it names."
	}
}

// Roles returns the tenant roles f earns, in configuration order.
func Roles(rules []config.Role, f Facts) []string {
	roles := []string{}
	for _, r := range rules {
		if slices.Contains(roles, r.Role) {
			continue
		}
		if r.Everyone || anyEmailIn(f.VerifiedEmails, r.Emails) ||
			anyEmailInDomains(f.VerifiedEmails, r.EmailDomains) ||
			inOrgs(f, r.GitHubOrgs) || inGroups(f, r.Groups) {
			roles = append(roles, r.Role)
		}
	}
	return roles
}

// NeedsGroups reports whether deciding access or roles needs the
// identity's groups: providers that must ask for them separately (GitHub's
// organisations, scope read:org) do so only then.
func NeedsGroups(t *config.Tenant) bool {
	if len(t.Access.GitHubOrgs) > 0 || len(t.Access.Groups) > 0 {
		return true
	}
	for _, r := range t.Roles {
		if len(r.GitHubOrgs) > 0 || len(r.Groups) > 0 {
			return true
		}
	}
	return false
}

// NeedsTeams reports whether the rules name a group with a "/" in it: a
// GitHub team ("org/team"), which GitHub lists apart from organisations,
// at the cost of another call, made only then.
func NeedsTeams(t *config.Tenant) bool {
	slash := func(g string) bool { return strings.Contains(g, "/") }
	if slices.ContainsFunc(t.Access.Groups, slash) {
		return true
	}
	for _, r := range t.Roles {
		if slices.ContainsFunc(r.Groups, slash) {
			return true
		}
	}
	return false
}

// LacksTeams reports whether stored facts come from a GitHub sign-in
// that did not read the identity's teams: rules naming teams cannot be
// applied to them, and the person must sign in upstream again (a broker
// session started for an app that needed no teams). Facts that do not
// decode lack them too.
func LacksTeams(facts []byte) bool {
	if facts == nil {
		return true
	}
	f, err := decodeFacts(facts)
	return err != nil || f.GitHub && !f.Teams
}

// inOrgs reports whether f is a GitHub identity in one of orgs.
func inOrgs(f Facts, orgs []string) bool {
	return f.GitHub && intersects(f.Groups, orgs)
}

// inGroups reports whether f's groups include one of want. An upstream's
// group names are its own and compared exactly, but for GitHub's:
// organisation logins and team slugs are ASCII and case-insensitive, and
// FactsOf lower-cased them.
func inGroups(f Facts, want []string) bool {
	if f.GitHub {
		return intersects(f.Groups, want)
	}
	for _, w := range want {
		if slices.Contains(f.Groups, w) {
			return true
		}
	}
	return false
}

// anyEmailIn reports whether one of the canonical emails is one of the
// rule's addresses, compared in canonical form.
func anyEmailIn(emails, rule []string) bool {
	for _, w := range rule {
		if c, ok := email.Canonical(w); ok && slices.Contains(emails, c) {
			return true
		}
	}
	return false
}

// anyEmailInDomains compares domains in their IDNA ASCII form
// (email.Domain): never with Unicode case folding.
func anyEmailInDomains(emails, domains []string) bool {
	for _, d := range domains {
		want, ok := email.Domain(d)
		if !ok {
			continue
		}
		for _, e := range emails {
			if i := len(e) - len(want); i > 0 && e[i-1] == '@' && e[i:] == want {
				return true
			}
		}
	}
	return false
}

// intersects compares GitHub logins, which are ASCII and case-insensitive,
// by their ASCII lower case.
func intersects(have, want []string) bool {
	for _, w := range want {
		if slices.Contains(have, email.ASCIILower(w)) {
			return true
		}
	}
	return false
}
