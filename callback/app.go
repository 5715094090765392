package callback

import "github.com/socialbroker/broker/providers"

// App is a tenant as the browser flow sees it: what it may ask for and how
// its rules judge who signs in. The broker builds one per tenant whenever
// its configuration changes (internal/tenants), not per request.
type App struct {
	ID string
	// Name is shown on pages; Home is where they link back to ("" when
	// unknown).
	Name, Home   string
	RedirectURIs []string
	// Providers are the names of the upstreams the app offers.
	Providers    []string
	Confidential bool
	// WantGroups: the app's rules name groups, so sign-ins fetch them
	// (a GitHub identity's organisations cost calls of their own).
	WantGroups bool
	// WantTeams: the app's rules name a team ("org/team"), so GitHub
	// sign-ins also read the identity's teams.
	WantTeams bool
	// Admit judges an identity that signed in through an upstream of
	// type providerType against the app's access and role rules.
	Admit func(id *providers.Identity, providerType string) Admission
	// Judge applies the app's rules to the Facts of an earlier admission
	// (by another app: a broker session's): the roles they earn here,
	// and whether the app admits them at all.
	Judge func(facts []byte) (roles []string, admitted bool)
}

// Admission is an app's verdict on an identity.
type Admission struct {
	// Refusal, when not empty, says why the app does not admit the
	// identity, in words fit to show the person.
	Refusal string
	// Roles are what the identity earns; Facts what the session keeps
	// so that the rules can be applied again at every refresh.
	Roles []string
	Facts []byte
}

// Directory finds apps and upstreams by name. It is consulted on every
// request, so that apps and upstreams created or changed at runtime take
// effect at once: lookups must be cheap and safe for concurrent use.
type Directory interface {
	App(id string) (*App, bool)
	Upstream(name string) (*Upstream, bool)
	// HomeRealm names the upstream holding the verified email domain
	// domain (lower-case, IDNA ASCII), if any: home-realm discovery.
	HomeRealm(domain string) (upstream string, ok bool)
}
