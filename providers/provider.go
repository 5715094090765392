package providers

import (
	"context"
	"errors"
)

// Provider is one upstream identity service as the login flow sees it: it
// builds the URL that sends the browser upstream, and turns the code that
// comes back into a verified Identity.
type Provider interface {
	// Name is the configured name: "google", "github" or a generic
	// provider's section name. It is the {provider} path segment.
	Name() string
	// AuthCodeURL is where the browser goes to sign in upstream.
	AuthCodeURL(ctx context.Context, req AuthRequest) (string, error)
	// Exchange redeems the upstream code and returns the verified identity.
	Exchange(ctx context.Context, req ExchangeRequest) (*Identity, error)
}

// AuthRequest carries what the broker binds into one upstream round trip.
type AuthRequest struct {
	State       string // the broker's own state, never the app's
	Nonce       string // OIDC nonce; ignored by plain OAuth2 providers
	Verifier    string // PKCE code_verifier; the provider sends its S256 challenge
	RedirectURL string // {issuer}/auth/{provider}/callback
	LoginHint   string // passed through when the provider supports it
	Prompt      string // passed through when the provider supports it
	WantGroups  bool   // the rules look at groups: GitHub then also asks for read:org
	WantTeams   bool   // the rules name a team ("org/team"): GitHub reads /user/teams too
}

// ExchangeRequest is what comes back on the callback, with what was bound at
// the start of the flow.
type ExchangeRequest struct {
	Code        string
	Verifier    string
	Nonce       string
	RedirectURL string
	WantGroups  bool
	WantTeams   bool
	// Response holds the authorization response's parameters other than
	// code, state and iss, as the upstream sent them: Apple's user (the
	// name, sent once, on the first sign-in). Unsigned: a provider may read
	// a display name from it, never an identifier or an email to trust.
	Response map[string]string
}

// Identity is what an upstream asserts about the person signing in.
type Identity struct {
	Provider string // the provider's configured name
	Subject  string // the upstream's stable id (OIDC sub, GitHub numeric id)
	Username string // GitHub login, preferred_username; may be empty
	Name     string
	Picture  string
	// Email is the primary address; EmailVerified says whether the upstream
	// vouches for it. VerifiedEmails lists every address the upstream marks
	// verified (the primary first when it is verified).
	Email          string
	EmailVerified  bool
	VerifiedEmails []string
	// EmailTrusted says whether this provider is trusted to vouch for this
	// identity's verified emails: its trust_email setting (true by default
	// for Google and GitHub, false for generic OIDC), narrowed to what the
	// provider is the authority for (Google: @gmail.com and Workspace
	// accounts). internal/accounts decides from it what the broker vouches
	// for.
	EmailTrusted bool
	// Groups are the upstream's group names for this user: GitLab's
	// groups, an OIDC provider's groups claim, GitHub's organisation
	// logins (read only when ExchangeRequest.WantGroups is set). Empty when
	// the upstream says nothing.
	Groups []string
	// Teams: Groups include the identity's GitHub teams, as "org/team"
	// (read only when ExchangeRequest.WantTeams is set).
	Teams bool
}

// Errors a caller branches on. Everything else is an upstream fault.
var (
	// ErrUpstream wraps failures to talk to the upstream: unreachable,
	// timeout, 5xx, malformed answers.
	ErrUpstream = errors.New("upstream unavailable")
	// ErrInvalidIdentity wraps answers that were received but do not verify:
	// bad signature, wrong iss/aud/nonce, expired ID token, rejected code.
	ErrInvalidIdentity = errors.New("upstream identity rejected")
)
