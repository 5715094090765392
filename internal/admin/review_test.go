package admin_test

import (
	"net/url"
	"testing"

	"github.com/socialbroker/broker/internal/server/servertest"
	"github.com/socialbroker/broker/providers/providertest"
)

// TestTenantConnectionCannotLinkOtherTenantsUsers: a key restricted to one
// tenant makes that tenant's own connection, an IdP its administrator
// runs, and has it vouch (trust_email) for an address of a user who signs
// in to another tenant. Users are the broker's, across tenants: linking on
// that address would hand the attacker's IdP the victim's account (its
// sub, its profile; nOAuth across tenants). A tenant's connection vouches
// only for the domains it proved by DNS (WorkOS's rule).
func TestTenantConnectionCannotLinkOtherTenantsUsers(t *testing.T) {
	h := newHarness(t, privateNets)
	key := h.key("", "admin")
	// The victim's tenant signs in through an operator's connection that
	// is trusted for email.
	trusted := providertest.NewOIDC(providertest.OIDCOptions{Title: "Trusted", ClientID: "t-client", ClientSecret: "t-secret-0123456"})
	t.Cleanup(trusted.Close)
	h.must(201, "POST", "/connections", key, map[string]any{"id": "trusted", "type": "oidc", "issuer": trusted.URL(),
		"client_id": "t-client", "client_secret": "t-secret-0123456", "trust_email": true})
	victimApp := h.must(201, "POST", "/tenants", key, map[string]any{"id": "globex", "redirect_uris": []string{servertest.AppRedirect},
		"providers": []string{"trusted"}, "confidential": true})
	trusted.SetNextUser(providertest.User{Subject: "ceo-1", Name: "CEO", Email: "ceo@globex.example", EmailVerified: true})
	victim := servertest.PayloadOf(t, signIn(t, h, "globex", victimApp.str("client_secret"), nil))["sub"]

	// The attacker administers tenant evil, with a key restricted to it.
	h.must(201, "POST", "/tenants", key, map[string]any{"id": "evil", "redirect_uris": []string{servertest.AppRedirect},
		"providers": []string{"corp"}, "confidential": true})
	evilKey := h.key("evil", "tenants:write", "tenants:read", "connections:write", "connections:read")
	evilSecret := h.must(200, "POST", "/tenants/evil/secret", evilKey, nil).str("client_secret")
	idp := providertest.NewOIDC(providertest.OIDCOptions{Title: "Evil", ClientID: "e-client", ClientSecret: "e-secret-0123456"})
	t.Cleanup(idp.Close)
	h.must(201, "POST", "/connections", evilKey, map[string]any{"id": "evilidp", "type": "oidc", "issuer": idp.URL(),
		"client_id": "e-client", "client_secret": "e-secret-0123456", "trust_email": true})
	h.must(200, "PATCH", "/tenants/evil", evilKey, map[string]any{"providers": []string{"evilidp"}})

	idp.SetNextUser(providertest.User{Subject: "x-1", Name: "Not the CEO", Email: "ceo@globex.example", EmailVerified: true})
	got := servertest.PayloadOf(t, signIn(t, h, "evil", evilSecret, url.Values{"provider": {"evilidp"}}))["sub"]
	if got == victim {
		t.Fatalf("tenant evil's own IdP signed in as globex's user %v (linked on an address it has no authority for)", victim)
	}
	u := h.must(200, "GET", "/users/"+victim.(string), key, nil)
	if ids, _ := u.body["identities"].([]any); len(ids) != 1 {
		t.Errorf("the victim's identities: %s, want the one of trusted alone", u.raw)
	}
	if u.str("name") != "CEO" {
		t.Errorf("the victim's profile was changed by the other tenant's IdP: %s", u.raw)
	}
}
