package providers

import (
	"cmp"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// OIDCConfig configures a generic OpenID Connect provider.
type OIDCConfig struct {
	Name         string // the {provider} path segment
	Issuer       string // exact issuer; discovery is {Issuer}/.well-known/openid-configuration
	ClientID     string
	ClientSecret string   // empty for a public client
	Scopes       []string // default DefaultScopes(); must contain openid
	// TrustEmail is copied into Identity.EmailTrusted: whether the broker
	// may vouch for this issuer's verified emails (internal/accounts).
	TrustEmail bool
	// HostedDomain restricts sign-in to one Google Workspace domain: it is
	// sent as the hd parameter (a UI hint only) and, what actually enforces
	// it, the ID token's hd claim must equal it.
	HostedDomain string
	// HTTPClient carries every upstream call; its Timeout bounds them.
	HTTPClient *http.Client
	// Now is the clock for ID token expiry; default time.Now.
	Now func() time.Time
}

// OIDC is a Provider for any OpenID Connect issuer, Google included. Its
// endpoints are discovered on first use and cached.
type OIDC struct {
	cfg OIDCConfig
	// sem serialises discovery; a channel rather than a mutex so that a
	// waiting request still honours its context.
	sem  chan struct{}
	disc atomic.Pointer[discovered]
	q    quirks
}

// quirks are how a known issuer departs from the plain OIDC flow. Each
// type's constructor (google.go, microsoft.go, apple.go, gitlab.go) sets
// the ones it needs; the zero value is plain OpenID Connect.
type quirks struct {
	// emailAuthority, when set, narrows TrustEmail to the identities
	// whose addresses this issuer is the authority for (Google, Microsoft).
	emailAuthority func(*claims) bool
	// publishedIssuer, when set, judges the issuer the discovery document
	// publishes, instead of requiring it to equal cfg.Issuer (Microsoft's
	// multi-tenant endpoints publish a template).
	publishedIssuer func(iss string) error
	// tokenIssuer, when set, names the one issuer an ID token must carry,
	// from its payload once its signature is verified (Microsoft: from tid).
	tokenIssuer func(payload []byte) (string, error)
	// issuerOK, when set, judges the iss of an authorization response
	// (RFC 9207) instead of comparing it with cfg.Issuer (Microsoft: one
	// issuer per directory).
	issuerOK func(iss string) bool
	// authParams are added to every authorization request
	// (Apple: response_mode=form_post).
	authParams map[string]string
	// clientSecret, when set, makes the client secret for each token
	// request (Apple: a JWT the broker signs).
	clientSecret func() (string, error)
	// alwaysUserinfo reads the userinfo endpoint even when the ID token
	// has email and name (GitLab puts groups only there).
	alwaysUserinfo bool
	// finish adjusts the identity from the verified claims and the
	// authorization response (Microsoft's subject, Apple's name).
	finish func(req ExchangeRequest, c *claims, id *Identity) error
	// formPost: the upstream returns with a cross-site POST.
	formPost bool
	// noPKCE sends no code_challenge and no code_verifier (LinkedIn fails
	// client authentication when a confidential client sends a verifier).
	noPKCE bool
	// nonceOptional accepts an ID token without nonce (LinkedIn never
	// echoes it); one that has a nonce must still match.
	nonceOptional bool
}

var _ Provider = (*OIDC)(nil)

// discovered is what the discovery document told us.
type discovered struct {
	endpoint oauth2.Endpoint
	userinfo string
	keys     oidc.KeySet
	algs     []string
	// issParam: the upstream promises iss in its authorization responses
	// (RFC 9207 §3).
	issParam bool
}

// DefaultScopes are asked of an OpenID Connect provider that names none:
// openid for the ID token, email and profile for the claims an identity is
// made of (OIDC Core §5.4).
func DefaultScopes() []string { return []string{oidc.ScopeOpenID, "email", "profile"} }

// NewOIDC validates cfg and returns a provider. It does no network I/O:
// discovery waits for the first request, so the broker starts even when an
// issuer is briefly unreachable.
func NewOIDC(cfg OIDCConfig) (*OIDC, error) {
	if cfg.Name == "" || url.PathEscape(cfg.Name) != cfg.Name {
		return nil, fmt.Errorf("oidc: invalid provider name %q", cfg.Name)
	}
	if err := checkBaseURL(cfg.Issuer); err != nil {
		return nil, fmt.Errorf("oidc: %s: issuer: %w", cfg.Name, err)
	}
	if cfg.ClientID == "" {
		return nil, fmt.Errorf("oidc: %s: client ID is required", cfg.Name)
	}
	if cfg.HTTPClient == nil {
		return nil, fmt.Errorf("oidc: %s: HTTP client is required", cfg.Name)
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = DefaultScopes()
	}
	// Without openid the upstream answers plain OAuth2 with no ID token
	// (OIDC Core §3.1.2.1).
	if !slices.Contains(cfg.Scopes, oidc.ScopeOpenID) {
		return nil, fmt.Errorf("oidc: %s: scopes must include %q", cfg.Name, oidc.ScopeOpenID)
	}
	cfg.Scopes = slices.Clone(cfg.Scopes)
	cfg.HTTPClient = bounded(cfg.HTTPClient)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &OIDC{cfg: cfg, sem: make(chan struct{}, 1)}, nil
}

// Name returns the configured name.
func (p *OIDC) Name() string { return p.cfg.Name }

// AuthCodeURL returns the upstream authorization URL with PKCE S256
// (RFC 7636 §4.2; unless quirks.noPKCE) and the OIDC nonce (OIDC Core
// §3.1.2.1).
func (p *OIDC) AuthCodeURL(ctx context.Context, req AuthRequest) (string, error) {
	if err := checkAuthRequest("oidc", req); err != nil {
		return "", err
	}
	if req.Nonce == "" {
		return "", errors.New("oidc: auth request without nonce")
	}
	d, err := p.discover(ctx)
	if err != nil {
		return "", err
	}
	opts := []oauth2.AuthCodeOption{oidc.Nonce(req.Nonce)}
	if !p.q.noPKCE {
		opts = append(opts, oauth2.S256ChallengeOption(req.Verifier))
	}
	for k, v := range map[string]string{"login_hint": req.LoginHint, "prompt": req.Prompt, "hd": p.cfg.HostedDomain} {
		if v != "" {
			opts = append(opts, oauth2.SetAuthURLParam(k, v))
		}
	}
	for k, v := range p.q.authParams {
		opts = append(opts, oauth2.SetAuthURLParam(k, v))
	}
	return p.oauth2Config(d, req.RedirectURL, "").AuthCodeURL(req.State, opts...), nil
}

// Issuer is the configured issuer (for Microsoft, the discovery base).
func (p *OIDC) Issuer() string { return p.cfg.Issuer }

// MatchesIssuer reports whether iss, from an authorization response,
// names this upstream (RFC 9207 §2.4).
func (p *OIDC) MatchesIssuer(iss string) bool {
	if p.q.issuerOK != nil {
		return p.q.issuerOK(iss)
	}
	return subtle.ConstantTimeCompare([]byte(iss), []byte(p.cfg.Issuer)) == 1
}

// FormPost reports whether the upstream returns with a cross-site form
// POST (response_mode=form_post) rather than a redirect.
func (p *OIDC) FormPost() bool { return p.q.formPost }

// PromisesIssuer reports whether the upstream's discovery document
// advertises authorization_response_iss_parameter_supported: then every
// authorization response must carry iss (RFC 9207 §2.4), and one without
// it may have come from another issuer (a mix-up, RFC 9700 §4.4).
func (p *OIDC) PromisesIssuer(ctx context.Context) (bool, error) {
	d, err := p.discover(ctx)
	if err != nil {
		return false, err
	}
	return d.issParam, nil
}

// Exchange redeems the code, verifies the ID token and completes its claims
// from the userinfo endpoint when they are missing.
func (p *OIDC) Exchange(ctx context.Context, req ExchangeRequest) (*Identity, error) {
	if req.Code == "" || req.Verifier == "" || req.Nonce == "" {
		return nil, fmt.Errorf("oidc: exchange: %w: missing code, verifier or nonce", ErrInvalidIdentity)
	}
	d, err := p.discover(ctx)
	if err != nil {
		return nil, err
	}
	ctx = oidc.ClientContext(ctx, p.cfg.HTTPClient) // x/oauth2 reads the same key
	secret := p.cfg.ClientSecret
	if p.q.clientSecret != nil {
		if secret, err = p.q.clientSecret(); err != nil {
			return nil, fmt.Errorf("oidc: client secret: %w", err)
		}
	}
	var opts []oauth2.AuthCodeOption
	if !p.q.noPKCE {
		opts = append(opts, oauth2.VerifierOption(req.Verifier))
	}
	tok, err := p.oauth2Config(d, req.RedirectURL, secret).Exchange(ctx, req.Code, opts...)
	if err != nil {
		return nil, fmt.Errorf("oidc: exchange code: %w", tokenError(err))
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		// OIDC Core §3.1.3.3: a successful response carries an ID token.
		return nil, fmt.Errorf("oidc: exchange code: %w: no id_token in token response", ErrUpstream)
	}
	c, err := p.verify(ctx, d, raw, req.Nonce)
	if err != nil {
		return nil, err
	}
	if (c.Email == "" || c.Name == "" || p.q.alwaysUserinfo) && d.userinfo != "" {
		if err := p.completeFromUserinfo(ctx, d, tok.AccessToken, c); err != nil {
			return nil, err
		}
	}
	trusted := p.cfg.TrustEmail && (p.q.emailAuthority == nil || p.q.emailAuthority(c))
	id := c.identity(p.cfg.Name, trusted)
	if p.q.finish != nil {
		if err := p.q.finish(req, c, id); err != nil {
			return nil, err
		}
	}
	return id, nil
}

// verify checks the ID token as OIDC Core §3.1.3.7 asks: signature with a key
// from the issuer's JWKS, iss, aud, exp (go-oidc), then azp, nonce and hd.
func (p *OIDC) verify(ctx context.Context, d *discovered, raw, nonce string) (*claims, error) {
	keys := &faultRecorder{KeySet: d.keys}
	issuer := p.cfg.Issuer
	if p.q.tokenIssuer != nil {
		// The expected issuer depends on the token (Microsoft's tid), so
		// it is read from a payload whose signature verified, and then
		// go-oidc checks iss against it exactly like any other: the
		// issuer check is never switched off (SkipIssuerCheck).
		payload, err := keys.VerifySignature(ctx, raw)
		if err != nil {
			if keys.fetchErr != nil {
				return nil, fmt.Errorf("oidc: fetch signing keys: %w: %w", ErrUpstream, keys.fetchErr)
			}
			return nil, fmt.Errorf("oidc: verify id token: %w: %v", ErrInvalidIdentity, err)
		}
		if issuer, err = p.q.tokenIssuer(payload); err != nil {
			return nil, fmt.Errorf("oidc: verify id token: %w: %v", ErrInvalidIdentity, err)
		}
	}
	v := oidc.NewVerifier(issuer, keys, &oidc.Config{
		ClientID:             p.cfg.ClientID,
		SupportedSigningAlgs: d.algs,
		Now:                  p.cfg.Now,
	})
	tok, err := v.Verify(ctx, raw)
	if err != nil {
		if keys.fetchErr != nil {
			return nil, fmt.Errorf("oidc: fetch signing keys: %w: %w", ErrUpstream, keys.fetchErr)
		}
		return nil, fmt.Errorf("oidc: verify id token: %w: %v", ErrInvalidIdentity, err)
	}
	var c claims
	if err := tok.Claims(&c); err != nil {
		return nil, fmt.Errorf("oidc: verify id token: %w: claims: %v", ErrInvalidIdentity, err)
	}
	switch {
	case c.Subject == "":
		return nil, fmt.Errorf("oidc: verify id token: %w: no sub", ErrInvalidIdentity)
	case c.AuthorizedParty != "" && c.AuthorizedParty != p.cfg.ClientID:
		// §3.1.3.7 step 5: when azp is present it must be our client ID.
		return nil, fmt.Errorf("oidc: verify id token: %w: azp is another client", ErrInvalidIdentity)
	// The nonce binds the token to this browser's login attempt
	// (§3.1.3.7 step 11); compared in constant time like any secret.
	case (tok.Nonce != "" || !p.q.nonceOptional) && subtle.ConstantTimeCompare([]byte(tok.Nonce), []byte(nonce)) != 1:
		return nil, fmt.Errorf("oidc: verify id token: %w: nonce mismatch", ErrInvalidIdentity)
	// Google: the hd parameter is only a hint to its UI; the hd claim in
	// the signed token is what proves the account's Workspace domain.
	case p.cfg.HostedDomain != "" && !strings.EqualFold(c.HostedDomain, p.cfg.HostedDomain):
		return nil, fmt.Errorf("oidc: verify id token: %w: hd %.64q is not %q", ErrInvalidIdentity, c.HostedDomain, p.cfg.HostedDomain)
	}
	return &c, nil
}

// completeFromUserinfo fills the claims the ID token left out (many issuers
// put only sub there) from the userinfo endpoint (OIDC Core §5.3). Claims
// the ID token has are kept: they are signed, the userinfo answer is not.
func (p *OIDC) completeFromUserinfo(ctx context.Context, d *discovered, accessToken string, c *claims) error {
	var u claims
	h := http.Header{"Authorization": {"Bearer " + accessToken}, "Accept": {"application/json"}}
	if _, err := getJSON(ctx, p.cfg.HTTPClient, d.userinfo, h, &u); err != nil {
		return fmt.Errorf("oidc: userinfo: %w", err)
	}
	// §5.3.4: a userinfo sub that differs from the ID token's must not be used
	// (a token substitution attack).
	if u.Subject != c.Subject {
		return fmt.Errorf("oidc: userinfo: %w: sub differs from the ID token's", ErrInvalidIdentity)
	}
	if c.Email == "" {
		c.Email, c.EmailVerified = u.Email, u.EmailVerified
	}
	if len(c.Groups) == 0 {
		c.Groups = u.Groups
	}
	c.Name = cmp.Or(c.Name, u.Name)
	c.Picture = cmp.Or(c.Picture, u.Picture)
	c.PreferredUsername = cmp.Or(c.PreferredUsername, u.PreferredUsername)
	return nil
}

// oauth2Config is the x/oauth2 view of this client; secret is the client
// secret for a token request, "" for an authorization URL.
func (p *OIDC) oauth2Config(d *discovered, redirectURL, secret string) *oauth2.Config {
	return &oauth2.Config{
		ClientID:     p.cfg.ClientID,
		ClientSecret: secret,
		Endpoint:     d.endpoint,
		RedirectURL:  redirectURL,
		Scopes:       p.cfg.Scopes,
	}
}

// discover returns the cached discovery result, fetching it on first use
// with the request's context. Failures are not cached: the next request
// tries again.
func (p *OIDC) discover(ctx context.Context) (*discovered, error) {
	if d := p.disc.Load(); d != nil {
		return d, nil
	}
	select {
	case p.sem <- struct{}{}:
		defer func() { <-p.sem }()
	case <-ctx.Done():
		return nil, fmt.Errorf("oidc: discovery: %w: %w", ErrUpstream, ctx.Err())
	}
	if d := p.disc.Load(); d != nil { // another request finished it meanwhile
		return d, nil
	}
	dctx := oidc.ClientContext(ctx, p.cfg.HTTPClient)
	if p.q.publishedIssuer != nil {
		// go-oidc compares the published issuer with the discovery URL;
		// Microsoft's multi-tenant endpoints publish a template instead
		// (go-oidc #121). InsecureIssuerURLContext is go-oidc's deliberate
		// way around that comparison; what it leaves open is closed here:
		// publishedIssuer judges the published value, and every ID token's
		// issuer is checked exactly against one derived from the token
		// (tokenIssuer). The provider's own issuer is never used.
		dctx = oidc.InsecureIssuerURLContext(dctx, p.cfg.Issuer)
	}
	op, err := oidc.NewProvider(dctx, p.cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("oidc: discovery: %w: %w", ErrUpstream, err)
	}
	var meta struct {
		Issuer      string   `json:"issuer"`
		JWKSURL     string   `json:"jwks_uri"`
		Algs        []string `json:"id_token_signing_alg_values_supported"`
		AuthMethods []string `json:"token_endpoint_auth_methods_supported"`
		IssParam    bool     `json:"authorization_response_iss_parameter_supported"`
	}
	if err := op.Claims(&meta); err != nil || meta.JWKSURL == "" || op.Endpoint().TokenURL == "" {
		return nil, fmt.Errorf("oidc: discovery: %w: document lacks jwks_uri or token_endpoint", ErrUpstream)
	}
	if p.q.publishedIssuer != nil {
		if err := p.q.publishedIssuer(meta.Issuer); err != nil {
			return nil, fmt.Errorf("oidc: discovery: %w: %w", ErrUpstream, err)
		}
	}
	endpoint := op.Endpoint()
	hasSecret := p.cfg.ClientSecret != "" || p.q.clientSecret != nil
	endpoint.AuthStyle = authStyle(meta.AuthMethods, hasSecret)
	d := &discovered{
		endpoint: endpoint,
		userinfo: op.UserInfoEndpoint(),
		// The key set outlives this request and refetches keys when they
		// rotate; it keeps the context it is given, so that context must
		// not be cancelled when this request ends.
		keys:     oidc.NewRemoteKeySet(oidc.ClientContext(context.WithoutCancel(ctx), p.cfg.HTTPClient), meta.JWKSURL),
		algs:     signingAlgs(meta.Algs),
		issParam: meta.IssParam,
	}
	p.disc.Store(d)
	return d, nil
}

// authStyle picks how to send the client secret. OIDC Discovery §3: when
// token_endpoint_auth_methods_supported is absent the default is
// client_secret_basic. Fixing the style avoids x/oauth2's probing, which
// would spend a single-use code on a failed first attempt.
func authStyle(methods []string, hasSecret bool) oauth2.AuthStyle {
	if !hasSecret || (len(methods) > 0 && !slices.Contains(methods, "client_secret_basic") &&
		slices.Contains(methods, "client_secret_post")) {
		return oauth2.AuthStyleInParams
	}
	return oauth2.AuthStyleInHeader
}

// signingAlgs keeps the advertised algorithms go-oidc can verify; "none" and
// HMAC never pass. RS256 is the default every OP must support (OIDC Core §15.1).
func signingAlgs(advertised []string) []string {
	supported := []string{oidc.RS256, oidc.RS384, oidc.RS512, oidc.ES256, oidc.ES384, oidc.ES512,
		oidc.PS256, oidc.PS384, oidc.PS512, oidc.EdDSA}
	var algs []string
	for _, a := range advertised {
		if slices.Contains(supported, a) {
			algs = append(algs, a)
		}
	}
	if len(algs) == 0 {
		algs = []string{oidc.RS256}
	}
	return algs
}

// faultRecorder remembers why the JWKS could not be fetched. go-oidc
// flattens key set errors into a string, and an unreachable JWKS must read
// as ErrUpstream, not as a bad signature. RemoteKeySet wraps fetch failures
// ("fetching keys %w") and returns a plain error for "no key verifies".
// One recorder per verification, so no locking.
type faultRecorder struct {
	oidc.KeySet
	fetchErr error
}

func (r *faultRecorder) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	payload, err := r.KeySet.VerifySignature(ctx, jwt)
	if err != nil && errors.Unwrap(err) != nil {
		r.fetchErr = err
	}
	return payload, err
}

// checkBaseURL accepts an absolute http(s) URL without query or fragment.
func checkBaseURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return err
	case (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
		return fmt.Errorf("%q is not an absolute http(s) URL", s)
	case u.User != nil:
		return errors.New("must not contain user:password@")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return fmt.Errorf("%q has a query or fragment", s)
	}
	return nil
}
