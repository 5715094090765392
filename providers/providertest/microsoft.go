package providertest

import (
	"net/http"
	"regexp"
)

// MicrosoftConsumersTenant is the directory of personal Microsoft accounts.
const MicrosoftConsumersTenant = "9188040d-6c67-4c5b-b112-36a304b66dad"

var msGUID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// NewMicrosoft starts a fake of Microsoft's identity platform (v2.0
// endpoints); its URL() is the authority (https://login.microsoftonline.com).
// Users sign in from their own directory (User.TenantID, ObjectID), as in
// the real service:
//   - {authority}/{tenant}/v2.0/.well-known/openid-configuration for
//     common and organizations publishes the issuer as the template
//     {authority}/{tenantid}/v2.0; consumers publishes the consumers
//     directory's issuer; a directory id its own.
//   - each ID token's iss is {authority}/{tid}/v2.0 for the user's own
//     tid, with tid, oid, and xms_edov when User.DomainVerified.
//
// With IssuerParameter, authorization responses carry iss (RFC 9207): the
// user's directory's issuer. SetIDTokenMutator forges the rest (another iss, tid...).
func NewMicrosoft(opts OIDCOptions) *OIDC {
	if opts.Title == "" {
		opts.Title = "Microsoft"
	}
	var f *OIDC
	issuer := func(tid string) string { return f.BaseURL() + "/" + tid + "/v2.0" }
	return newOIDC(opts, oidcQuirks{
		bind: func(x *OIDC) { f = x },
		routes: map[string]string{
			"discovery": "GET /{tenant}/v2.0/.well-known/openid-configuration",
			"authorize": "GET /{tenant}/oauth2/v2.0/authorize",
			"token":     "POST /{tenant}/oauth2/v2.0/token",
			"userinfo":  "/oidc/userinfo", // graph.microsoft.com's, in reality
			"jwks":      "GET /{tenant}/discovery/v2.0/keys",
		},
		doc: func(r *http.Request, doc map[string]any) {
			t := r.PathValue("tenant")
			base := f.BaseURL() + "/" + t
			switch {
			case t == "common" || t == "organizations":
				doc["issuer"] = f.BaseURL() + "/{tenantid}/v2.0"
			case t == "consumers":
				doc["issuer"] = issuer(MicrosoftConsumersTenant)
			case msGUID.MatchString(t):
				doc["issuer"] = issuer(t)
			default:
				doc["issuer"] = "https://invalid.example/unknown-tenant"
			}
			doc["authorization_endpoint"] = base + "/oauth2/v2.0/authorize"
			doc["token_endpoint"] = base + "/oauth2/v2.0/token"
			doc["jwks_uri"] = base + "/discovery/v2.0/keys"
			doc["userinfo_endpoint"] = f.BaseURL() + "/oidc/userinfo"
			doc["claims_supported"] = append(doc["claims_supported"].([]string), "tid", "oid", "xms_edov")
		},
		issuerOf: func(u User) string { return issuer(u.TenantID) },
		// With IssuerParameter, the authorization response's iss is the
		// user's directory's issuer, as Entra sends it.
		setup: func(c *core) { c.responseIssOf = func(u User) string { return issuer(u.TenantID) } },
		idClaims: func(u User, c map[string]any) {
			c["tid"], c["oid"] = u.TenantID, u.ObjectID
			if u.DomainVerified {
				c["xms_edov"] = true
			}
			// Entra sends no email_verified for work accounts.
			delete(c, "email_verified")
		},
	})
}
