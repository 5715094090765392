package providers

// GoogleIssuer is Google's OpenID Connect issuer.
const GoogleIssuer = "https://accounts.google.com"

// NewGoogle returns the OIDC provider for Google Sign-In. It defaults Name
// to "google" and Issuer to GoogleIssuer (overridable, for tests and the
// demo's fake), and always trusts emails: Google verifies the addresses it
// marks email_verified, and only Google can assert @gmail.com ones.
// Google-specific checks (hd) live in OIDC, keyed on HostedDomain.
func NewGoogle(cfg OIDCConfig) (*OIDC, error) {
	if cfg.Name == "" {
		cfg.Name = "google"
	}
	if cfg.Issuer == "" {
		cfg.Issuer = GoogleIssuer
	}
	cfg.TrustEmail = true
	return NewOIDC(cfg)
}
