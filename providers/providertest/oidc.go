package providertest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"maps"
	"math/big"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// OIDCOptions configures a fake OpenID Connect provider.
type OIDCOptions struct {
	// Title names the imitated service on the chooser page ("Google").
	// Default "OpenID Connect".
	Title string
	// ClientID and ClientSecret are the one registered client. ClientID
	// defaults to "fake-client"; an empty secret makes it a public client.
	ClientID, ClientSecret string
	// RedirectURIs, when set, are the only redirect_uri values accepted
	// (exact match); otherwise any absolute URL is.
	RedirectURIs []string
	Users        []User
	// MinimalIDToken puts only iss, sub, aud, azp, exp, iat, nonce (and
	// Google's hd) in the ID token, as many providers do, so that a client
	// must read email and profile from the userinfo endpoint.
	MinimalIDToken bool
	// Now is the fake's clock for iat, exp and code expiry; default time.Now.
	Now func() time.Time
	// SigningAlg signs ID tokens: "RS256" (default, as Google does) or
	// "ES256", two orders of magnitude cheaper to sign, for load tests in
	// which the fake must not be the bottleneck.
	SigningAlg string
	// URL, when set, makes the fake start no server of its own: URL is its
	// issuer, and the caller serves Handler() there (broker demo mounts
	// its fakes on its own listener, so that one published port is enough
	// from a container or a VM).
	URL string
	// IssuerParameter advertises RFC 9207 in discovery
	// (authorization_response_iss_parameter_supported) and sends iss in
	// every authorization response, as Microsoft Entra ID and Keycloak do.
	IssuerParameter bool
}

// OIDC is a fake OpenID Connect provider: discovery, authorization, token,
// userinfo and JWKS endpoints. Its issuer is URL().
type OIDC struct {
	core *core
	opts OIDCOptions
	q    oidcQuirks
	key  crypto.Signer // published in the JWKS
	alg  jwt.SigningMethod
	kid  string

	mu          sync.Mutex
	mutate      func(claims map[string]any)
	unpublished bool
	algNone     bool
	rogue       crypto.Signer // the unpublished key, made on first use
}

// oidcQuirks are how an imitated service departs from the plain fake;
// each constructor of this package (microsoft.go, apple.go...) sets its
// own. The zero value is plain OpenID Connect at the server's root.
type oidcQuirks struct {
	// prefix is the issuer's path under the server's root ("/oauth" for
	// LinkedIn); every endpoint lives under it.
	prefix string
	// routes overrides mux patterns by endpoint: "discovery",
	// "authorize", "token", "userinfo", "jwks".
	routes map[string]string
	// doc edits the discovery document for this request.
	doc func(r *http.Request, doc map[string]any)
	// issuerOf is the iss of u's ID tokens; default the issuer.
	issuerOf func(u User) string
	// idClaims edits u's ID token claims after the profile claims.
	idClaims func(u User, c map[string]any)
	// userinfoClaims edits u's userinfo answer.
	userinfoClaims func(u User, c map[string]any)
	// setup adjusts the core before it serves.
	setup func(c *core)
	// bind receives the fake before it serves, for quirks that need its
	// URL (set before the server's goroutines start, so no race).
	bind func(f *OIDC)
}

// NewOIDC starts a fake OpenID Connect provider on 127.0.0.1 (or, with
// opts.URL, prepares one to be mounted there).
func NewOIDC(opts OIDCOptions) *OIDC { return newOIDC(opts, oidcQuirks{}) }

func newOIDC(opts OIDCOptions, q oidcQuirks) *OIDC {
	if opts.Title == "" {
		opts.Title = "OpenID Connect"
	}
	if opts.ClientID == "" {
		opts.ClientID = "fake-client"
	}
	f := &OIDC{
		core: newCore(opts.Title, opts.ClientID, opts.ClientSecret, opts.RedirectURIs, opts.Users, opts.Now),
		opts: opts,
		q:    q,
		kid:  rand.Text()[:8],
	}
	if q.setup != nil {
		q.setup(f.core)
	}
	if q.bind != nil {
		q.bind(f)
	}
	switch opts.SigningAlg {
	case "", "RS256":
		f.alg = jwt.SigningMethodRS256
	case "ES256":
		f.alg = jwt.SigningMethodES256
	default:
		panic("providertest: unsupported SigningAlg " + opts.SigningAlg)
	}
	f.key = f.newKey()
	mux := http.NewServeMux()
	route := func(name, def string, h http.HandlerFunc) {
		if p, ok := q.routes[name]; ok {
			if p != "" {
				mux.HandleFunc(p, h)
			}
			return
		}
		method, path, _ := strings.Cut(def, " ")
		if path == "" {
			method, path = "", method
		} else {
			method += " "
		}
		mux.HandleFunc(method+q.prefix+path, h)
	}
	route("discovery", "GET /.well-known/openid-configuration", f.discovery)
	route("authorize", "GET /authorize", f.authorize)
	route("token", "/token", f.token)
	route("userinfo", "/userinfo", f.userinfo)
	route("jwks", "GET /jwks", f.jwks)
	f.core.start(mux, opts.URL)
	if opts.IssuerParameter {
		f.core.responseIss = f.URL()
	}
	return f
}

// URL is the issuer: the server's base URL (and the imitated issuer's
// path, if any), without trailing slash.
func (f *OIDC) URL() string { return f.core.url + f.q.prefix }

// BaseURL is the server's root URL, without the issuer's path.
func (f *OIDC) BaseURL() string { return f.core.url }

// Handler serves the fake; for a fake made with OIDCOptions.URL, the
// caller serves it there, with the URL's path stripped.
func (f *OIDC) Handler() http.Handler { return f.core.handler }

// Close shuts the server down.
func (f *OIDC) Close() { f.core.close() }

// SetNextUser makes the next authorization request approve at once as u
// instead of showing the chooser page. It applies to one request.
func (f *OIDC) SetNextUser(u User) { f.core.setNextUser(u) }

// SetDelay makes every endpoint wait d before answering (or until the
// client gives up): a slow upstream.
func (f *OIDC) SetDelay(d time.Duration) { f.core.setDelay(d) }

// SetDown makes every endpoint drop the connection without answering.
func (f *OIDC) SetDown(down bool) { f.core.setDown(down) }

// SetTokenError makes the token endpoint refuse every request with this
// RFC 6749 §5.2 error code (HTTP 400); "" turns it off.
func (f *OIDC) SetTokenError(code string) { f.core.setTokenError(code) }

// SetIDTokenMutator lets fn edit the claims of every ID token before it is
// signed (set a wrong aud, an old exp, remove email_verified...); nil turns
// it off.
func (f *OIDC) SetIDTokenMutator(fn func(claims map[string]any)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mutate = fn
}

// SetSignWithUnpublishedKey makes ID tokens carry a valid signature,
// with the published key's kid, by a key absent from the JWKS: a forgery.
func (f *OIDC) SetSignWithUnpublishedKey(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.unpublished = on
}

// SetAlgNone makes ID tokens unsigned (alg "none", RFC 7519 §6).
func (f *OIDC) SetAlgNone(on bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.algNone = on
}

// Reset turns every fault knob off and forgets the next user. Issued codes
// and tokens stay valid.
func (f *OIDC) Reset() {
	f.core.reset()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mutate, f.unpublished, f.algNone = nil, false, false
}

// discovery serves the OpenID Provider Metadata (OIDC Discovery §3).
func (f *OIDC) discovery(w http.ResponseWriter, r *http.Request) {
	iss := f.URL()
	doc := map[string]any{
		"issuer":                                iss,
		"authorization_endpoint":                iss + "/authorize",
		"token_endpoint":                        iss + "/token",
		"userinfo_endpoint":                     iss + "/userinfo",
		"jwks_uri":                              iss + "/jwks",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{f.alg.Alg()},
		"scopes_supported":                      []string{"openid", "email", "profile"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"code_challenge_methods_supported":      []string{"S256"},
		"grant_types_supported":                 []string{"authorization_code"},
		"claims_supported": []string{"iss", "sub", "aud", "exp", "iat", "nonce", "azp",
			"email", "email_verified", "name", "picture", "preferred_username", "hd"},
		"authorization_response_iss_parameter_supported": f.opts.IssuerParameter,
	}
	if f.q.doc != nil {
		f.q.doc(r, doc)
	}
	writeJSON(w, http.StatusOK, doc)
}

func (f *OIDC) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	redirectURI, ok := f.core.clientRedirect(w, q, false)
	if !ok {
		return
	}
	scopes := strings.Fields(q.Get("scope"))
	fail := func(code, desc string) {
		f.core.back(w, r, redirectURI, map[string][]string{
			"error": {code}, "error_description": {desc}, "state": {q.Get("state")}})
	}
	switch {
	case q.Get("response_type") != "code":
		fail("unsupported_response_type", "only response_type=code")
	case !slices.Contains(scopes, "openid"):
		fail("invalid_scope", "scope must include openid")
	case f.core.formPost && q.Get("response_mode") != "form_post":
		// Apple: "response_mode must be form_post when name or email
		// scope is requested".
		fail("invalid_request", "response_mode must be form_post")
	default:
		// The hd parameter only steers the real Google's account picker;
		// the hd claim reflects the account. So it is ignored here.
		f.core.approve(w, r, redirectURI, &grant{scopes: scopes, nonce: q.Get("nonce")})
	}
}

// token redeems a code for an access token and an ID token (OIDC Core
// §3.1.3.3).
func (f *OIDC) token(w http.ResponseWriter, r *http.Request) {
	if code := f.core.tokenError(); code != "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": code, "error_description": "fault injected"})
		return
	}
	g, errCode, desc := f.core.redeem(r)
	if errCode != "" {
		status := http.StatusBadRequest
		if errCode == "invalid_client" {
			status = http.StatusUnauthorized // RFC 6749 §5.2
			w.Header().Set("WWW-Authenticate", `Basic realm="fake"`)
		}
		writeJSON(w, status, map[string]string{"error": errCode, "error_description": desc})
		return
	}
	idToken, err := f.idToken(g)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "server_error"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": f.core.issue("", r.PostForm.Get("code"), g),
		"token_type":   "Bearer",
		"expires_in":   int(tokenTTL.Seconds()),
		"scope":        strings.Join(g.scopes, " "),
		"id_token":     idToken,
	})
}

// userinfo answers the claims the access token's scopes release (OIDC Core
// §5.3), with RFC 6750 §3 errors.
func (f *OIDC) userinfo(w http.ResponseWriter, r *http.Request) {
	g, ok := f.core.bearer(r)
	if !ok || !slices.Contains(g.scopes, "openid") {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token"})
		return
	}
	c := map[string]any{"sub": g.user.Subject}
	maps.Copy(c, profileClaims(g.user, g.scopes))
	if f.q.userinfoClaims != nil {
		f.q.userinfoClaims(g.user, c)
	}
	writeJSON(w, http.StatusOK, c)
}

func (f *OIDC) jwks(w http.ResponseWriter, _ *http.Request) {
	b64 := base64.RawURLEncoding.EncodeToString
	jwk := map[string]string{"use": "sig", "alg": f.alg.Alg(), "kid": f.kid}
	switch pub := f.key.Public().(type) {
	case *rsa.PublicKey:
		jwk["kty"], jwk["n"], jwk["e"] = "RSA", b64(pub.N.Bytes()), b64(big.NewInt(int64(pub.E)).Bytes())
	case *ecdsa.PublicKey:
		raw, _ := pub.Bytes() // 0x04 || X || Y
		jwk["kty"], jwk["crv"], jwk["x"], jwk["y"] = "EC", "P-256", b64(raw[1:33]), b64(raw[33:])
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": []map[string]string{jwk}})
}

// idToken builds and signs the ID token (OIDC Core §2), applying the knobs.
func (f *OIDC) idToken(g *grant) (string, error) {
	now := f.core.now()
	iss := f.URL()
	if f.q.issuerOf != nil {
		iss = f.q.issuerOf(g.user)
	}
	c := map[string]any{
		"iss": iss, "sub": g.user.Subject, "aud": f.opts.ClientID, "azp": f.opts.ClientID,
		"iat": now.Unix(), "exp": now.Add(tokenTTL).Unix(),
	}
	if g.nonce != "" {
		c["nonce"] = g.nonce
	}
	if g.user.HostedDomain != "" {
		c["hd"] = g.user.HostedDomain
	}
	if !f.opts.MinimalIDToken {
		maps.Copy(c, profileClaims(g.user, g.scopes))
	}
	if f.q.idClaims != nil {
		f.q.idClaims(g.user, c)
	}

	f.mu.Lock()
	mutate, unpublished, algNone := f.mutate, f.unpublished, f.algNone
	if unpublished && f.rogue == nil {
		f.rogue = f.newKey()
	}
	key := f.key
	if unpublished {
		key = f.rogue
	}
	f.mu.Unlock()

	if mutate != nil {
		mutate(c)
	}
	if algNone {
		return jwt.NewWithClaims(jwt.SigningMethodNone, jwt.MapClaims(c)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	}
	t := jwt.NewWithClaims(f.alg, jwt.MapClaims(c))
	t.Header["kid"] = f.kid
	return t.SignedString(key)
}

// profileClaims are the claims each scope releases (OIDC Core §5.4).
func profileClaims(u User, scopes []string) map[string]any {
	c := map[string]any{}
	if u.HostedDomain != "" {
		c["hd"] = u.HostedDomain
	}
	if slices.Contains(scopes, "email") && u.Email != "" {
		c["email"], c["email_verified"] = u.Email, u.EmailVerified
	}
	// Dex, Keycloak, Okta... release the user's groups under scope groups.
	if slices.Contains(scopes, "groups") && u.Groups != nil {
		c["groups"] = u.Groups
	}
	if slices.Contains(scopes, "profile") {
		for k, v := range map[string]string{"name": u.Name, "picture": u.Picture, "preferred_username": u.Login} {
			if v != "" {
				c[k] = v
			}
		}
	}
	return c
}

// newKey makes a key for the configured algorithm.
func (f *OIDC) newKey() crypto.Signer {
	var (
		k   crypto.Signer
		err error
	)
	if f.alg == jwt.SigningMethodES256 {
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	} else {
		k, err = rsa.GenerateKey(rand.Reader, 2048)
	}
	if err != nil {
		panic("providertest: generate key: " + err.Error())
	}
	return k
}
