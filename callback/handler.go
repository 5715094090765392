package callback

import (
	"context"
	"crypto/cipher"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/socialbroker/broker/providers"
	"github.com/socialbroker/broker/storage"
	"github.com/socialbroker/broker/tokens"
	"golang.org/x/crypto/chacha20poly1305"
)

// Upstream is a configured provider with what the flow needs beside it.
type Upstream struct {
	Provider providers.Provider
	Name     string // the configured name: the {provider} path segment
	Type     string // the provider type: google, github, oidc, microsoft, apple...
	Label    string // shown on the sign-in page
	// Issuer is the provider's issuer identifier, checked against the
	// callback's iss parameter (RFC 9207) when the provider sends one.
	Issuer string
	// Domains are the verified email domains the upstream holds (a
	// runtime connection's, through the admin API): a sign-in through it
	// must end with an email in one of them.
	Domains []string
	// Owner is the tenant that owns the upstream (a runtime connection
	// made for one tenant, often by a key restricted to it), "" for one
	// any tenant may offer. Its administrator runs it: see vouchOnlyInRealm.
	Owner string
}

// issuerPromiser is a provider that can tell whether its upstream promises
// iss in every authorization response (RFC 9207; providers.OIDC).
type issuerPromiser interface {
	PromisesIssuer(ctx context.Context) (bool, error)
}

// issuerMatcher is a provider that judges an authorization response's iss
// itself (providers.OIDC: Microsoft has one issuer per directory).
type issuerMatcher interface {
	MatchesIssuer(iss string) bool
}

// issuerMatches reports whether iss names up's upstream: by the provider's
// own judgement, else by equality with up.Issuer when that is known.
func issuerMatches(up *Upstream, iss string) bool {
	if m, ok := up.Provider.(issuerMatcher); ok {
		return m.MatchesIssuer(iss)
	}
	return up.Issuer == "" || subtle.ConstantTimeCompare([]byte(iss), []byte(up.Issuer)) == 1
}

func promisesIssuer(ctx context.Context, p providers.Provider) (bool, error) {
	if ip, ok := p.(issuerPromiser); ok {
		return ip.PromisesIssuer(ctx)
	}
	return false, nil
}

// Users resolves upstream identities to broker users.
type Users interface {
	Resolve(ctx context.Context, id *providers.Identity) (storage.User, error)
}

// Grants starts sessions and issues one-time codes.
type Grants interface {
	IssueCode(ctx context.Context, g tokens.CodeGrant) (code, sid string, err error)
}

// Config configures a Handler.
type Config struct {
	Issuer   string // the broker's public base URL
	LoginTTL time.Duration
	// UpstreamTimeout bounds all of a callback's upstream work together
	// (code exchange, keys, userinfo, GitHub's emails and orgs), however
	// many calls it takes; zero means no bound beyond each call's own.
	UpstreamTimeout time.Duration
	// Directory finds the apps and upstreams a request names.
	Directory Directory
	States    storage.LoginStates
	// StateKey seals login states into the state parameter: 32 bytes,
	// the same on every replica (storage.Secrets).
	StateKey []byte
	Users    Users
	Grants   Grants
	// SSO is the broker session; its zero value keeps none.
	SSO SSOConfig
	// Events, when set, records each sign-in's outcome in the audit log.
	Events Events
	Now    func() time.Time
	Logger *slog.Logger
}

// Events records security events (the broker's audit log). Record must
// not block: it is called on the sign-in's path.
type Events interface {
	Record(storage.AuditEvent)
}

// StateKeySize is the size of Config.StateKey: an XChaCha20-Poly1305 key.
const StateKeySize = chacha20poly1305.KeySize

// Handler serves the browser flow.
type Handler struct {
	cfg    Config
	dir    Directory
	secure bool        // issuer is https: cookies are Secure and __Host- prefixed
	aead   cipher.AEAD // seals flows under cfg.StateKey; holds only the key
	log    *slog.Logger
}

// New returns a Handler.
func New(cfg Config) (*Handler, error) {
	u, err := url.Parse(cfg.Issuer)
	if err != nil {
		return nil, err
	}
	aead, err := chacha20poly1305.NewX(cfg.StateKey)
	if err != nil {
		return nil, fmt.Errorf("callback: state key: %w", err)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Events == nil {
		cfg.Events = noEvents{}
	}
	if cfg.Directory == nil {
		return nil, fmt.Errorf("callback: no directory of apps and upstreams")
	}
	if cfg.SSO.Enabled && (cfg.SSO.Store == nil || cfg.SSO.IdleTTL <= 0 || cfg.SSO.MaxTTL <= 0) {
		return nil, fmt.Errorf("callback: sso needs a store and positive lifetimes")
	}
	return &Handler{cfg: cfg, dir: cfg.Directory, secure: u.Scheme == "https", log: cfg.Logger, aead: aead}, nil
}

// Register mounts the flow's routes. They carry no CORS headers: they are
// navigations, not API calls. start wraps the two routes that start a
// sign-in: where rate limits go.
func (h *Handler) Register(e *echo.Echo, start ...echo.MiddlewareFunc) {
	e.GET("/authorize", h.authorize, start...)
	e.GET("/auth/:provider/login", h.login, start...)
	e.GET("/auth/:provider/callback", h.callback)
	e.POST("/auth/:provider/callback", h.formPost) // response_mode=form_post: formpost.go
}

// callbackURL is where an upstream sends the browser back.
func (h *Handler) callbackURL(provider string) string {
	return strings.TrimRight(h.cfg.Issuer, "/") + "/auth/" + provider + "/callback"
}

type noEvents struct{}

func (noEvents) Record(storage.AuditEvent) {}
