package providers

import (
	"strings"

	"github.com/socialbroker/broker/internal/email"
)

// GoogleIssuer is Google's OpenID Connect issuer.
const GoogleIssuer = "https://accounts.google.com"

// NewGoogle returns the OIDC provider for Google Sign-In. It defaults Name
// to "google" and Issuer to GoogleIssuer (overridable, for tests and the
// demo's fake). Google-specific checks (hd) live in OIDC, keyed on
// HostedDomain.
//
// Google verifies every address it marks email_verified, but it is the
// authority only for two kinds: @gmail.com addresses, and the addresses of
// Workspace accounts (ID tokens with hd), whose domain's administrator
// controls them. A consumer Google account can be opened with any address
// (ex-employee@acme.com) and outlives the person's access to that mailbox,
// so its email is trusted for nothing (contract, "one trust rule").
func NewGoogle(cfg OIDCConfig) (*OIDC, error) {
	if cfg.Name == "" {
		cfg.Name = "google"
	}
	if cfg.Issuer == "" {
		cfg.Issuer = GoogleIssuer
	}
	p, err := NewOIDC(cfg)
	if err != nil {
		return nil, err
	}
	p.q.emailAuthority = googleIsAuthority
	return p, nil
}

func googleIsAuthority(c *claims) bool {
	_, domain, _ := strings.Cut(c.Email, "@")
	// The canonical form only: no Unicode case folding may turn another
	// domain into gmail.com.
	d, ok := email.Domain(domain)
	return c.HostedDomain != "" || (ok && d == "gmail.com")
}
