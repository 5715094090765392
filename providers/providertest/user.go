package providertest

// User is a person the fakes can sign in. One User works for both fakes;
// each reads the fields its real counterpart has.
type User struct {
	// Subject is the stable id: the OIDC sub, or GitHub's numeric user id
	// (NewGitHub panics if it is not a decimal number).
	Subject string
	// Login is GitHub's login; the OIDC fake sends it as preferred_username.
	Login   string
	Name    string
	Picture string // OIDC picture, GitHub avatar_url
	// Email and EmailVerified are the OIDC email claims and, when Emails is
	// nil, GitHub's primary address.
	Email         string
	EmailVerified bool
	// Emails is GitHub's /user/emails; nil means Email as the only, primary,
	// address.
	Emails []Email
	// PublicEmail is the email GitHub's /user shows; empty means private,
	// as for most users, so that only /user/emails reveals addresses.
	PublicEmail string
	// Orgs are GitHub organisation logins, listed by /user/orgs only with
	// scope read:org (the fake treats every membership as private).
	Orgs []string
	// Teams are GitHub team memberships as "org/slug", listed by
	// /user/teams only with scope read:org.
	Teams []string
	// HostedDomain is Google's hd claim (the Workspace domain); empty for
	// consumer accounts.
	HostedDomain string
	// TenantID and ObjectID are Microsoft's tid (the user's directory) and
	// oid; DomainVerified is its xms_edov claim (the email's domain is
	// verified by the directory's owner).
	TenantID, ObjectID string
	DomainVerified     bool
	// Groups are GitLab's groups (userinfo's groups claim), and the
	// groups claim of the OIDC fake when scope groups is asked for.
	Groups []string
	// PrivateEmail: Apple's is_private_email (a private relay address).
	PrivateEmail bool
}

// Email is one address as GitHub's /user/emails lists it.
type Email struct {
	Email    string
	Primary  bool
	Verified bool
}

// githubEmails is what /user/emails lists for u.
func (u User) githubEmails() []Email {
	if u.Emails != nil || u.Email == "" {
		return u.Emails
	}
	return []Email{{Email: u.Email, Primary: true, Verified: u.EmailVerified}}
}
