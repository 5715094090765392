package tenants

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/socialbroker/broker/callback"
	"github.com/socialbroker/broker/internal/accounts"
	"github.com/socialbroker/broker/internal/claims"
	"github.com/socialbroker/broker/internal/config"
	"github.com/socialbroker/broker/providers"
	"github.com/socialbroker/broker/storage"
)

// Tenant is an app registered with the broker, as every handler sees it:
// its definition and what the browser flow needs, built once per change.
type Tenant struct {
	*config.Tenant
	App *callback.App
	// claims are its custom claims, compiled once here: every token
	// issuance evaluates them (Claims).
	claims *claims.Set
}

// NewTenant prepares t for the registry. t must be valid (config
// validation) and is not changed afterwards. Its claim expressions are
// compiled here; an error means t was not validated (or was stored by a
// broker whose expression language differs).
func NewTenant(t *config.Tenant) (*Tenant, error) {
	set, err := claims.Compile(t.ClaimRules())
	if err != nil {
		return nil, fmt.Errorf("tenant %s: %w", t.ID, err)
	}
	// Rules or claims that read groups make sign-ins fetch them; GitHub's
	// teams are read when a rule names one, or when a claim reads the
	// groups (which it may filter for teams).
	wantTeams := accounts.NeedsTeams(t) || set.ReadsGroups()
	return &Tenant{Tenant: t, claims: set, App: &callback.App{
		ID: t.ID, Name: t.DisplayName(), Home: t.Home(),
		RedirectURIs: t.RedirectURIs, Providers: t.Providers, Confidential: t.Confidential(),
		WantGroups: accounts.NeedsGroups(t) || set.ReadsGroups(),
		WantTeams:  wantTeams,
		Admit: func(id *providers.Identity, providerType string) callback.Admission {
			facts := accounts.FactsOf(id, providerType)
			if ok, why := accounts.Allowed(t.Access, facts); !ok {
				return callback.Admission{Refusal: why}
			}
			return callback.Admission{Roles: accounts.Roles(t.Roles, facts), Facts: facts.Encode()}
		},
		Judge: func(facts []byte) ([]string, bool) {
			if wantTeams && accounts.LacksTeams(facts) {
				return nil, false // the broker session's sign-in did not read them
			}
			return accounts.Judge(t, facts, nil)
		},
	}}, nil
}

// HasClaims reports whether the tenant has custom claims.
func (t *Tenant) HasClaims() bool { return t.claims.Len() > 0 }

// Claims evaluates the tenant's custom claims for the destinations want,
// once, for a token issued to sess's user with roles
// (tokens.Config.Claims). Its inputs are the
// user's profile as it is now and the identity as the sign-in's facts
// recorded it.
func (t *Tenant) Claims(sess storage.Session, user storage.User, roles []string, want claims.Destination) (claims.Output, []claims.Failure) {
	if t.claims.Len() == 0 {
		return claims.Output{}, nil
	}
	in := &claims.Input{
		User:     claims.User{ID: user.ID, Name: user.Name, Email: user.Email, EmailVerified: user.EmailVerified, Picture: user.Picture},
		Identity: claims.Identity{Provider: sess.Provider},
		Tenant:   claims.Tenant{ID: t.ID, Name: t.DisplayName()},
		Roles:    roles,
	}
	// A session of an earlier broker may have no facts, or facts without
	// the identity's fields: those read as empty.
	if f, err := accounts.DecodeFacts(sess.Facts); err == nil {
		in.Identity.Subject, in.Identity.Username, in.Identity.Email, in.Identity.Groups = f.Subject, f.Username, f.Email, f.Groups
	}
	return t.claims.Eval(in, want)
}

// AllowsOrigin reports whether origin is one of the tenant's
// allowed_origins.
func (t *Tenant) AllowsOrigin(origin string) bool {
	return slices.Contains(t.AllowedOrigins, origin)
}

// Registry holds the current tenants and upstreams. Its zero value is
// empty and ready to use.
type Registry struct {
	cur atomic.Pointer[snapshot]
	mu  sync.Mutex // serialises changes
}

// snapshot is the registry at one moment; never changed once published.
type snapshot struct {
	tenants   map[string]*Tenant
	upstreams map[string]*callback.Upstream
	// origins lists, for each allowed origin, the tenants that allow it.
	origins map[string][]string
	// realms maps each verified email domain to the upstream holding it.
	realms map[string]string
	// departed keeps the latest removed tenants (at most maxDeparted,
	// oldest first): their sessions' back-channel logouts are still sent
	// after the tenant is gone.
	departed []*Tenant
}

// maxDeparted bounds the removed tenants a registry remembers.
const maxDeparted = 1024

var empty = &snapshot{}

func (r *Registry) load() *snapshot {
	if s := r.cur.Load(); s != nil {
		return s
	}
	return empty
}

// Tenant returns the tenant id names.
func (r *Registry) Tenant(id string) (*Tenant, bool) {
	t, ok := r.load().tenants[id]
	return t, ok
}

// App returns the tenant id names as the browser flow sees it
// (callback.Directory).
func (r *Registry) App(id string) (*callback.App, bool) {
	t, ok := r.load().tenants[id]
	if !ok {
		return nil, false
	}
	return t.App, true
}

// Upstream returns the upstream provider name names (callback.Directory).
func (r *Registry) Upstream(name string) (*callback.Upstream, bool) {
	u, ok := r.load().upstreams[name]
	return u, ok
}

// Departed returns a recently removed tenant: what is still owed to its
// apps (back-channel logouts of the sessions its removal ended) needs it.
func (r *Registry) Departed(id string) (*Tenant, bool) {
	d := r.load().departed
	for i := len(d) - 1; i >= 0; i-- {
		if d[i].ID == id {
			return d[i], true
		}
	}
	return nil, false
}

// HomeRealm names the upstream holding the verified email domain domain
// (callback.Directory).
func (r *Registry) HomeRealm(domain string) (string, bool) {
	name, ok := r.load().realms[domain]
	return name, ok
}

// OriginAllowed reports whether some tenant allows origin.
func (r *Registry) OriginAllowed(origin string) bool {
	return origin != "" && len(r.load().origins[origin]) > 0
}

// TenantOfOrigin returns the tenant allowing origin when exactly one does.
func (r *Registry) TenantOfOrigin(origin string) (*Tenant, bool) {
	s := r.load()
	ids := s.origins[origin]
	if len(ids) != 1 {
		return nil, false
	}
	t, ok := s.tenants[ids[0]]
	return t, ok
}

// Len returns how many tenants there are.
func (r *Registry) Len() int { return len(r.load().tenants) }

// Change is a set of changes applied together: readers see all of it or
// none of it.
type Change struct {
	// Tenants and Upstreams are added, or replace those of the same id
	// or name.
	Tenants   []*Tenant
	Upstreams []*callback.Upstream
	// RemoveTenants and RemoveUpstreams name those that go.
	RemoveTenants, RemoveUpstreams []string
}

// Apply publishes c. It copies the maps, so it costs time in proportion to
// the registry's size: changes are rare, lookups are not.
func (r *Registry) Apply(c Change) {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.load()
	next := &snapshot{
		tenants:   make(map[string]*Tenant, len(old.tenants)+len(c.Tenants)),
		upstreams: make(map[string]*callback.Upstream, len(old.upstreams)+len(c.Upstreams)),
	}
	for id, t := range old.tenants {
		next.tenants[id] = t
	}
	next.departed = old.departed
	for _, id := range c.RemoveTenants {
		if t, ok := next.tenants[id]; ok {
			next.departed = append(slices.Clip(next.departed), t)
			delete(next.tenants, id)
		}
	}
	if n := len(next.departed); n > maxDeparted {
		next.departed = next.departed[n-maxDeparted:]
	}
	for _, t := range c.Tenants {
		next.tenants[t.ID] = t
	}
	for name, u := range old.upstreams {
		next.upstreams[name] = u
	}
	for _, name := range c.RemoveUpstreams {
		delete(next.upstreams, name)
	}
	for _, u := range c.Upstreams {
		next.upstreams[u.Name] = u
	}
	next.origins = map[string][]string{}
	for id, t := range next.tenants {
		for _, o := range t.AllowedOrigins {
			next.origins[o] = append(next.origins[o], id)
		}
	}
	next.realms = map[string]string{}
	for name, u := range next.upstreams {
		for _, d := range u.Domains {
			next.realms[d] = name
		}
	}
	r.cur.Store(next)
}

var _ callback.Directory = (*Registry)(nil)
