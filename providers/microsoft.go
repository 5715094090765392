package providers

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Microsoft identity platform defaults.
const (
	MicrosoftAuthority = "https://login.microsoftonline.com"
	// MicrosoftConsumersTenant is the directory id of personal Microsoft
	// accounts (outlook.com, xbox...): their tokens carry this tid.
	MicrosoftConsumersTenant = "9188040d-6c67-4c5b-b112-36a304b66dad"
)

// MicrosoftConfig configures Microsoft Entra ID and personal Microsoft
// accounts.
type MicrosoftConfig struct {
	OIDC OIDCConfig // Issuer is ignored: it follows from Authority and Tenant
	// Tenant is "common" (default), "organizations", "consumers" or one
	// directory id: which accounts Microsoft offers to sign in.
	Tenant string
	// AllowedTenants are the directory ids whose accounts the broker
	// accepts; "*" accepts any. A Tenant that is a directory id is always
	// allowed, and "consumers" allows the consumers directory.
	AllowedTenants []string
	// Authority defaults to MicrosoftAuthority (a fake's URL in tests).
	Authority string
}

var guidRe = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// NewMicrosoft returns the provider for Microsoft's v2.0 endpoint.
//
// Its multi-tenant endpoints (common, organizations) publish the issuer as
// a template, {authority}/{tenantid}/v2.0, and each ID token carries its
// own directory's issuer. The token's issuer is checked exactly against
// {authority}/{tid}/v2.0 for the token's own, signed, tid, and tid must be
// allowed, as MSAL does: any directory can register an account with any
// address, so accepting the issuer pattern alone would admit every Entra
// directory in the world.
//
// The upstream subject is {tid}:{oid}: oid is the user's immutable id in
// its directory, the same for every app, and the pair is unique. Never the
// email: Entra's email claim is set by the directory's admins and is not
// verified (nOAuth). The email is trusted only with xms_edov: true (the
// optional claim "email domain owner verified", which the app registration
// must request).
func NewMicrosoft(cfg MicrosoftConfig) (*OIDC, error) {
	if cfg.OIDC.Name == "" {
		cfg.OIDC.Name = "microsoft"
	}
	authority := strings.TrimRight(cmp.Or(cfg.Authority, MicrosoftAuthority), "/")
	if err := checkBaseURL(authority); err != nil {
		return nil, fmt.Errorf("microsoft: %s: authority: %w", cfg.OIDC.Name, err)
	}
	tenant := strings.ToLower(cmp.Or(cfg.Tenant, "common"))
	allowed := map[string]bool{}
	for _, t := range cfg.AllowedTenants {
		t = strings.ToLower(t)
		if t != "*" && !guidRe.MatchString(t) {
			return nil, fmt.Errorf("microsoft: %s: allowed_tenants: %q is neither a directory id nor \"*\"", cfg.OIDC.Name, t)
		}
		allowed[t] = true
	}
	switch {
	case tenant == "common" || tenant == "organizations":
	case tenant == "consumers":
		allowed[MicrosoftConsumersTenant] = true
	case guidRe.MatchString(tenant):
		allowed[tenant] = true
	default:
		return nil, fmt.Errorf("microsoft: %s: tenant: want common, organizations, consumers or a directory id, got %q", cfg.OIDC.Name, tenant)
	}
	cfg.OIDC.Issuer = authority + "/" + tenant + "/v2.0"
	p, err := NewOIDC(cfg.OIDC)
	if err != nil {
		return nil, err
	}
	template := authority + "/{tenantid}/v2.0"
	p.q.publishedIssuer = func(iss string) error {
		if iss != template && iss != cfg.OIDC.Issuer &&
			!(tenant == "consumers" && iss == authority+"/"+MicrosoftConsumersTenant+"/v2.0") {
			return fmt.Errorf("unexpected published issuer %.100q", iss)
		}
		return nil
	}
	directoryOK := func(tid string) error {
		if !guidRe.MatchString(tid) {
			return errors.New("no valid tid")
		}
		if !allowed["*"] && !allowed[tid] {
			return fmt.Errorf("directory %s is not in allowed_tenants", tid)
		}
		return nil
	}
	p.q.tokenIssuer = func(payload []byte) (string, error) {
		var t struct {
			TID string `json:"tid"`
		}
		if err := json.Unmarshal(payload, &t); err != nil {
			return "", fmt.Errorf("payload: %v", err)
		}
		if err := directoryOK(t.TID); err != nil {
			return "", err
		}
		return authority + "/" + t.TID + "/v2.0", nil
	}
	// The authorization response's iss (RFC 9207) is the issuer of the
	// user's directory: one of this authority's, for an allowed directory.
	p.q.issuerOK = func(iss string) bool {
		rest, ok := strings.CutPrefix(iss, authority+"/")
		tid, ok2 := strings.CutSuffix(rest, "/v2.0")
		return ok && ok2 && directoryOK(tid) == nil
	}
	p.q.emailAuthority = func(c *claims) bool { return bool(c.EmailDomainOwnerVerify) }
	p.q.finish = func(_ ExchangeRequest, c *claims, id *Identity) error {
		if !guidRe.MatchString(c.ObjectID) {
			return fmt.Errorf("microsoft: %w: ID token has no valid oid (is the profile scope missing?)", ErrInvalidIdentity)
		}
		id.Subject = c.TenantID + ":" + c.ObjectID
		// Entra sends no email_verified: xms_edov is what says the
		// address's domain belongs to the directory that vouches for it.
		id.EmailVerified = id.Email != "" && bool(c.EmailDomainOwnerVerify)
		id.VerifiedEmails = nil
		if id.EmailVerified {
			id.VerifiedEmails = []string{id.Email}
		}
		return nil
	}
	return p, nil
}
