package providers

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"
)

// ClaimPaths name the userinfo JSON fields, as dotted paths into nested
// objects ("picture.data.url"), that hold each part of an identity.
type ClaimPaths struct {
	Subject       string `json:"subject" toml:"subject"` // required: the upstream's stable user id
	Email         string `json:"email,omitempty" toml:"email"`
	EmailVerified string `json:"email_verified,omitempty" toml:"email_verified"`
	Name          string `json:"name,omitempty" toml:"name"`
	Username      string `json:"username,omitempty" toml:"username"`
	Picture       string `json:"picture,omitempty" toml:"picture"`
}

// OAuth2Config configures a plain OAuth 2.0 provider: no ID token, the
// identity is read from a userinfo endpoint with the access token.
type OAuth2Config struct {
	Name         string
	ClientID     string
	ClientSecret string
	AuthorizeURL string
	TokenURL     string
	UserinfoURL  string
	Scopes       []string
	Claims       ClaimPaths
	TrustEmail   bool
	// SecretInParams sends the client secret in the token request's body
	// (client_secret_post) instead of HTTP Basic, which RFC 6749 §2.3.1
	// makes the default but some providers (Facebook) do not accept.
	SecretInParams bool
	HTTPClient     *http.Client
}

// OAuth2 is a Provider for an OAuth 2.0 service without OpenID Connect
// (Discord, Facebook...). Nothing it reads is signed: the identity is what
// the userinfo endpoint answers over TLS to the access token the code
// bought, which is why its emails are trusted only when configured so.
type OAuth2 struct{ cfg OAuth2Config }

var _ Provider = (*OAuth2)(nil)

// NewOAuth2 validates cfg; it does no network I/O.
func NewOAuth2(cfg OAuth2Config) (*OAuth2, error) {
	if cfg.Name == "" || url.PathEscape(cfg.Name) != cfg.Name {
		return nil, fmt.Errorf("oauth2: invalid provider name %q", cfg.Name)
	}
	for _, u := range []struct{ key, v string }{
		{"authorize_url", cfg.AuthorizeURL}, {"token_url", cfg.TokenURL}, {"userinfo_url", cfg.UserinfoURL},
	} {
		if err := checkEndpointURL(u.v); err != nil {
			return nil, fmt.Errorf("oauth2: %s: %s: %w", cfg.Name, u.key, err)
		}
	}
	switch {
	case cfg.ClientID == "":
		return nil, fmt.Errorf("oauth2: %s: client ID is required", cfg.Name)
	case cfg.Claims.Subject == "":
		return nil, fmt.Errorf("oauth2: %s: claims.subject is required", cfg.Name)
	case cfg.HTTPClient == nil:
		return nil, fmt.Errorf("oauth2: %s: HTTP client is required", cfg.Name)
	}
	cfg.HTTPClient = bounded(cfg.HTTPClient)
	return &OAuth2{cfg: cfg}, nil
}

// Name returns the configured name.
func (p *OAuth2) Name() string { return p.cfg.Name }

func (p *OAuth2) oauth2Config(redirectURL string) *oauth2.Config {
	style := oauth2.AuthStyleInHeader
	if p.cfg.SecretInParams || p.cfg.ClientSecret == "" {
		style = oauth2.AuthStyleInParams
	}
	return &oauth2.Config{
		ClientID: p.cfg.ClientID, ClientSecret: p.cfg.ClientSecret, RedirectURL: redirectURL,
		Scopes: p.cfg.Scopes,
		// A fixed style: x/oauth2's auto-detection retries with the
		// other one, spending the single-use code on the first try.
		Endpoint: oauth2.Endpoint{AuthURL: p.cfg.AuthorizeURL, TokenURL: p.cfg.TokenURL, AuthStyle: style},
	}
}

// AuthCodeURL returns the authorization URL with PKCE S256 (RFC 7636);
// providers that do not know PKCE ignore it.
func (p *OAuth2) AuthCodeURL(_ context.Context, req AuthRequest) (string, error) {
	if err := checkAuthRequest("oauth2", req); err != nil {
		return "", err
	}
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(req.Verifier)}
	if req.Prompt != "" {
		opts = append(opts, oauth2.SetAuthURLParam("prompt", req.Prompt))
	}
	return p.oauth2Config(req.RedirectURL).AuthCodeURL(req.State, opts...), nil
}

// Exchange redeems the code and reads the identity from the userinfo
// endpoint.
func (p *OAuth2) Exchange(ctx context.Context, req ExchangeRequest) (*Identity, error) {
	if req.Code == "" || req.Verifier == "" {
		return nil, fmt.Errorf("oauth2: exchange: %w: missing code or verifier", ErrInvalidIdentity)
	}
	ctx = context.WithValue(ctx, oauth2.HTTPClient, p.cfg.HTTPClient)
	tok, err := p.oauth2Config(req.RedirectURL).Exchange(ctx, req.Code, oauth2.VerifierOption(req.Verifier))
	if err != nil {
		return nil, fmt.Errorf("oauth2: exchange code: %w", tokenError(err))
	}
	var raw json.RawMessage
	h := http.Header{"Authorization": {"Bearer " + tok.AccessToken}, "Accept": {"application/json"}}
	if _, err := getJSON(ctx, p.cfg.HTTPClient, p.cfg.UserinfoURL, h, &raw); err != nil {
		return nil, fmt.Errorf("oauth2: userinfo: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // numeric ids stay exact
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("oauth2: userinfo: %w: %v", ErrUpstream, err)
	}
	c := p.cfg.Claims
	sub := scalar(lookup(doc, c.Subject))
	if sub == "" {
		return nil, fmt.Errorf("oauth2: userinfo: %w: no %s", ErrInvalidIdentity, c.Subject)
	}
	id := &Identity{
		Provider: p.cfg.Name, Subject: sub,
		Username: scalar(lookup(doc, c.Username)), Name: scalar(lookup(doc, c.Name)),
		Picture: scalar(lookup(doc, c.Picture)), Email: scalar(lookup(doc, c.Email)),
		EmailTrusted: p.cfg.TrustEmail,
	}
	// Without a field saying so, an email is unverified.
	if id.Email != "" && c.EmailVerified != "" {
		v := lookup(doc, c.EmailVerified)
		b, isBool := v.(bool)
		s, _ := v.(string)
		id.EmailVerified = (isBool && b) || strings.EqualFold(s, "true")
	}
	if id.EmailVerified {
		id.VerifiedEmails = []string{id.Email}
	}
	return id, nil
}

// lookup follows a dotted path through nested JSON objects; nil when any
// step is missing.
func lookup(doc any, path string) any {
	if path == "" {
		return nil
	}
	for _, k := range strings.Split(path, ".") {
		m, ok := doc.(map[string]any)
		if !ok {
			return nil
		}
		doc = m[k]
	}
	return doc
}

// scalar renders a string or a number; anything else is "".
func scalar(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	}
	return ""
}

// checkEndpointURL accepts an absolute http(s) URL without fragment; a
// query is allowed (Facebook's userinfo names its fields there).
func checkEndpointURL(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return err
	case (u.Scheme != "https" && u.Scheme != "http") || u.Host == "":
		return fmt.Errorf("%q is not an absolute http(s) URL", s)
	case u.Fragment != "":
		return fmt.Errorf("%q has a fragment", s)
	}
	return nil
}
