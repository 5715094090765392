package admin_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/socialbroker/broker/internal/config"
	"github.com/socialbroker/broker/internal/server/servertest"
	"github.com/socialbroker/broker/internal/tenants"
	"github.com/socialbroker/broker/providers"
	"github.com/socialbroker/broker/providers/providertest"
	"github.com/socialbroker/broker/storage"
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

// TestDisablingEndsTheBrokerSession: disabling a user ends its sessions,
// the browser's broker session (SSO) included. Enabled again, the user
// signs in again; a browser that held the session (a stolen laptop's, the
// reason it was disabled) is not signed back in silently.
func TestDisablingEndsTheBrokerSession(t *testing.T) {
	h := newHarness(t, "")
	key := h.key("", "admin")
	b := h.NewBrowser()
	h.corp.SetNextUser(providertest.User{Subject: "d-1", Name: "Dee", Email: "dee@corp.example", EmailVerified: true})
	if q := b.Follow(h.AuthorizeURL("/authorize", "cfg-app", servertest.NewPKCE(), nil)); q.Get("code") == "" {
		t.Fatalf("sign-in: %v", q)
	}
	silent := url.Values{"prompt": {"none"}}
	if q := b.Follow(h.AuthorizeURL("/authorize", "cfg-app", servertest.NewPKCE(), silent)); q.Get("code") == "" {
		t.Fatalf("prompt=none with the broker session: %v, want a code", q)
	}
	users := h.must(200, "GET", "/users?tenant=cfg-app", key, nil).items()
	if len(users) != 1 {
		t.Fatalf("users: %v", users)
	}
	id := users[0]["id"].(string)
	h.must(200, "PATCH", "/users/"+id, key, map[string]any{"disabled": true})
	if q := b.Follow(h.AuthorizeURL("/authorize", "cfg-app", servertest.NewPKCE(), silent)); q.Get("error") != "login_required" {
		t.Errorf("prompt=none while disabled: %v, want login_required", q)
	}
	h.must(200, "PATCH", "/users/"+id, key, map[string]any{"disabled": false})
	if q := b.Follow(h.AuthorizeURL("/authorize", "cfg-app", servertest.NewPKCE(), silent)); q.Get("error") != "login_required" {
		t.Errorf("prompt=none once enabled again, from the browser that held a session: %v, want login_required", q)
	}
}

// TestBackchannelURIIsNoSSRF: a tenant made through the API names where
// the broker POSTs its logout tokens, from inside the broker's network:
// the address must pass the connections' rule (server-side request
// forgery), unless admin.allow_private_networks.
func TestBackchannelURIIsNoSSRF(t *testing.T) {
	h := newHarness(t, "")
	key := h.key("", "admin")
	h.must(201, "POST", "/tenants", key, map[string]any{"id": "app", "redirect_uris": []string{servertest.AppRedirect}, "providers": []string{"corp"}})
	for _, uri := range []string{"http://127.0.0.1:8081/admin/v1/tenants", "http://localhost:6379/", "http://[::1]:2375/containers/create",
		"https://10.0.0.5/logout", "https://169.254.169.254/latest", "https://[::ffff:192.168.0.1]/x"} {
		body := map[string]any{"id": "other", "redirect_uris": []string{servertest.AppRedirect}, "providers": []string{"corp"}, "backchannel_logout_uri": uri}
		if r := h.do("POST", "/tenants", key, body); r.status != 422 || !slices.Contains(r.problemFields(), "backchannel_logout_uri") {
			t.Errorf("create with backchannel_logout_uri %s: %d %s, want 422 naming it", uri, r.status, r.raw)
		}
		if r := h.do("PATCH", "/tenants/app", key, map[string]any{"backchannel_logout_uri": uri}); r.status != 422 || !slices.Contains(r.problemFields(), "backchannel_logout_uri") {
			t.Errorf("patch to backchannel_logout_uri %s: %d %s, want 422 naming it", uri, r.status, r.raw)
		}
	}
}

// TestSecretsDoNotFollowAChangedURL: connection secrets are write-only, so
// a key that may change a connection must not get its secret by pointing
// the connection's URLs at a server of its own and signing in (the broker
// would send the kept client_secret to the new token endpoint). A change
// of any URL needs the secrets sent again.
func TestSecretsDoNotFollowAChangedURL(t *testing.T) {
	h := newHarness(t, privateNets)
	key := h.key("", "admin")
	h.must(201, "POST", "/connections", key, map[string]any{"id": "okta", "type": "oidc", "issuer": h.corp.URL(),
		"client_id": "corp-client", "client_secret": "kept-secret-0123456"})
	thief := providertest.NewOIDC(providertest.OIDCOptions{Title: "Thief", ClientID: "corp-client"})
	t.Cleanup(thief.Close)
	if r := h.do("PATCH", "/connections/okta", key, map[string]any{"issuer": thief.URL()}); r.status != 422 || !slices.Contains(r.problemFields(), "client_secret") {
		t.Errorf("issuer changed without the secret: %d %s, want 422 naming client_secret", r.status, r.raw)
	}
	// Sent again, or with the URLs unchanged, the change is made.
	h.must(200, "PATCH", "/connections/okta", key, map[string]any{"issuer": thief.URL(), "client_secret": "new-secret-0123456"})
	h.must(200, "PATCH", "/connections/okta", key, map[string]any{"client_id": "other-client"})
	h.must(200, "PATCH", "/connections/okta", key, map[string]any{"issuer": thief.URL()}) // the same URL
}

// TestDeletedTenantsKeysDie: a key restricted to a tenant dies with it.
// Otherwise an offboarded customer's key recreates the tenant, its
// connections and its sign-ins the moment the operator deleted them.
func TestDeletedTenantsKeysDie(t *testing.T) {
	h := newHarness(t, "")
	key := h.key("", "admin")
	h.must(201, "POST", "/tenants", key, map[string]any{"id": "acme", "redirect_uris": []string{servertest.AppRedirect}, "providers": []string{"corp"}})
	acmeKey := h.key("acme", "tenants:read", "tenants:write")
	h.must(200, "GET", "/tenants/acme", acmeKey, nil)
	h.must(204, "DELETE", "/tenants/acme", key, nil)
	if r := h.do("POST", "/tenants", acmeKey, map[string]any{"id": "acme", "redirect_uris": []string{servertest.AppRedirect}, "providers": []string{"corp"}}); r.status != 401 {
		t.Errorf("the deleted tenant's key recreating it: %d %s, want 401", r.status, r.raw)
	}
	var revoked bool
	for _, e := range h.must(200, "GET", "/audit?type=key.revoked", key, nil).items() {
		revoked = revoked || e["tenant"] == "acme"
	}
	if !revoked {
		t.Error("no key.revoked event for the deleted tenant's key")
	}
}

// TestBrokerSessionDoesNotFollowAReusedConnectionName: a broker session
// is reused by apps that offer "the provider the user last signed in
// with", by name. Once that connection is deleted (with its tenant) or
// pointed at another IdP, the name may lead to someone else's IdP: a
// tenant that makes a connection of that name must not have the earlier
// IdP's users signed in to it silently (prompt=none), identity and all.
func TestBrokerSessionDoesNotFollowAReusedConnectionName(t *testing.T) {
	h := newHarness(t, privateNets)
	key := h.key("", "admin")
	first := providertest.NewOIDC(providertest.OIDCOptions{Title: "First", ClientID: "f-client", ClientSecret: "f-secret-0123456"})
	t.Cleanup(first.Close)
	h.must(201, "POST", "/tenants", key, map[string]any{"id": "a", "redirect_uris": []string{servertest.AppRedirect}, "providers": []string{"corp"}})
	h.must(201, "POST", "/connections", key, map[string]any{"id": "okta", "type": "oidc", "issuer": first.URL(),
		"client_id": "f-client", "client_secret": "f-secret-0123456", "tenant": "a"})
	h.must(200, "PATCH", "/tenants/a", key, map[string]any{"providers": []string{"okta"}})
	b := h.NewBrowser()
	first.SetNextUser(providertest.User{Subject: "v-1", Name: "Vic", Email: "vic@a.example", EmailVerified: true})
	if q := b.Follow(h.AuthorizeURL("/authorize", "a", servertest.NewPKCE(), nil)); q.Get("code") == "" {
		t.Fatalf("sign-in to a: %v", q)
	}
	h.must(204, "DELETE", "/tenants/a", key, nil) // and its connection okta

	// Another tenant's administrator makes a connection named okta.
	h.must(201, "POST", "/tenants", key, map[string]any{"id": "b", "redirect_uris": []string{servertest.AppRedirect}, "providers": []string{"corp"}})
	bKey := h.key("b", "tenants:write", "connections:write")
	second := providertest.NewOIDC(providertest.OIDCOptions{Title: "Second", ClientID: "s-client", ClientSecret: "s-secret-0123456"})
	t.Cleanup(second.Close)
	h.must(201, "POST", "/connections", bKey, map[string]any{"id": "okta", "type": "oidc", "issuer": second.URL(),
		"client_id": "s-client", "client_secret": "s-secret-0123456"})
	h.must(200, "PATCH", "/tenants/b", bKey, map[string]any{"providers": []string{"okta"}})
	q := b.Follow(h.AuthorizeURL("/authorize", "b", servertest.NewPKCE(), url.Values{"prompt": {"none"}}))
	if q.Get("error") != "login_required" {
		t.Errorf("prompt=none at b, whose okta is another IdP: %v, want login_required", q)
	}
}

// TestOwnedConnectionServesItsOwnerOnly: a connection owned by one
// tenant signs in to that tenant alone, even when another tenant's
// stored providers name it (a record written when the name was another
// upstream's: a config.toml provider since removed, say). The check at
// the API's write is not the only one.
func TestOwnedConnectionServesItsOwnerOnly(t *testing.T) {
	h := newHarness(t, privateNets)
	key := h.key("", "admin")
	idp := providertest.NewOIDC(providertest.OIDCOptions{Title: "B's", ClientID: "b-client", ClientSecret: "b-secret-0123456"})
	t.Cleanup(idp.Close)
	h.must(201, "POST", "/tenants", key, map[string]any{"id": "b", "redirect_uris": []string{servertest.AppRedirect}, "providers": []string{"corp"}})
	h.must(201, "POST", "/connections", key, map[string]any{"id": "x", "type": "oidc", "issuer": idp.URL(),
		"client_id": "b-client", "client_secret": "b-secret-0123456", "tenant": "b"})
	// Tenant a's stored record names x, as no API write would let it now.
	doc, err := tenants.TenantDoc(&config.Tenant{ID: "a", RedirectURIs: []string{servertest.AppRedirect}, Providers: []string{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.store().CreateRecord(t.Context(), storage.Record{Kind: storage.KindTenant, ID: "a", Doc: doc, CreatedAt: timeNow()}); err != nil {
		t.Fatal(err)
	}
	known := func() bool { // by the registry's poll: a known client is no 400 page
		resp, err := noRedirects.Get(h.AuthorizeURL("/authorize", "a", servertest.NewPKCE(), nil))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode != http.StatusBadRequest
	}
	if !eventually(5*time.Second, known) {
		t.Fatal("tenant a not loaded")
	}
	idp.SetNextUser(providertest.User{Subject: "u-1", Email: "u@b.example", EmailVerified: true})
	b := h.NewBrowser()
	resp := b.Get(h.AuthorizeURL("/authorize", "a", servertest.NewPKCE(), nil))
	for i := 0; i < 10 && (resp.StatusCode == http.StatusFound || resp.StatusCode == http.StatusSeeOther); i++ {
		next, _ := resp.Request.URL.Parse(resp.Header.Get("Location"))
		resp.Body.Close()
		if strings.HasPrefix(next.String(), servertest.AppRedirect) {
			if next.Query().Get("code") != "" {
				t.Fatalf("tenant a signed in through b's own connection: %v", next)
			}
			return
		}
		resp = b.Get(next.String())
	}
	resp.Body.Close()
}

// TestConfigProviderIsNotShadowed: a provider added to config.toml under
// the name of an existing connection (which the API refuses, but the file
// may come later) stays the file's: the record neither replaces it nor,
// deleted, removes it.
func TestConfigProviderIsNotShadowed(t *testing.T) {
	h := newHarness(t, privateNets)
	key := h.key("", "admin")
	other := providertest.NewOIDC(providertest.OIDCOptions{Title: "Other", ClientID: "o-client", ClientSecret: "o-secret-0123456"})
	t.Cleanup(other.Close)
	// A runtime connection named like config.toml's corp, as if the file
	// had gained corp after it was made.
	doc, err := tenants.ConnectionDoc(&config.Provider{Spec: providers.Spec{Name: "corp", Type: "oidc", Issuer: other.URL(), ClientID: "o-client"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	st := h.store()
	if _, err := st.CreateRecord(t.Context(), storage.Record{Kind: storage.KindConnection, ID: "corp", Doc: doc, CreatedAt: timeNow()}); err != nil {
		t.Fatal(err)
	}
	h.must(201, "POST", "/tenants", key, map[string]any{"id": "probe", "redirect_uris": []string{servertest.AppRedirect}, "providers": []string{"corp"}}) // a change after it: the poll has read the record when this is in force
	upstream := func() string {
		resp, err := noRedirects.Get(h.AuthorizeURL("/auth/corp/login", "cfg-app", servertest.NewPKCE(), nil))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.Header.Get("Location")
	}
	if loc := upstream(); !strings.HasPrefix(loc, h.corp.URL()) {
		t.Errorf("sign-in through corp goes to %q, want config.toml's corp at %s", loc, h.corp.URL())
	}
	if err := st.DeleteRecord(t.Context(), storage.KindConnection, "corp", timeNow()); err != nil {
		t.Fatal(err)
	}
	h.must(204, "DELETE", "/tenants/probe", key, nil)
	if loc := upstream(); !strings.HasPrefix(loc, h.corp.URL()) {
		t.Errorf("after the record's deletion, corp goes to %q, want config.toml's corp", loc)
	}
}

// TestConsoleTenantNeedsAdminScope: whoever holds the console role in
// broker-console has the admin scope. A key with tenants:write alone
// (or connections:write) must not grant itself that role (add an email
// rule for its own address, a provider, an owned connection): changes to
// broker-console, and connections it owns, need the admin scope.
func TestConsoleTenantNeedsAdminScope(t *testing.T) {
	h := newHarness(t, privateNets)
	tenantsKey := h.key("", "tenants:read", "tenants:write")
	connKey := h.key("", "connections:write", "connections:read")
	if r := h.do("PATCH", "/tenants/"+config.ConsoleTenantID, tenantsKey, map[string]any{
		"roles": []map[string]any{{"role": "broker-admin", "emails": []string{"mallory@corp.example"}}}}); r.status != 403 {
		t.Errorf("tenants:write key granting itself the console role: %d %s, want 403", r.status, r.raw)
	}
	if r := h.do("POST", "/tenants/"+config.ConsoleTenantID+"/secret", tenantsKey, nil); r.status != 403 && r.status != 409 {
		t.Errorf("tenants:write key rotating the console's secret: %d %s, want 403 (or 409: public)", r.status, r.raw)
	}
	if r := h.do("POST", "/connections", connKey, map[string]any{"id": "mine", "type": "oidc", "issuer": h.corp.URL(),
		"client_id": "c", "tenant": config.ConsoleTenantID}); r.status != 403 {
		t.Errorf("connections:write key making a connection of the console's: %d %s, want 403", r.status, r.raw)
	}
	// The admin scope may; a shared connection the console offers is then
	// the admin scope's to change too.
	adminKey := h.key("", "admin")
	h.must(200, "PATCH", "/tenants/"+config.ConsoleTenantID, adminKey, map[string]any{"name": "Console"})
	h.must(201, "POST", "/connections", connKey, map[string]any{"id": "shared", "type": "oidc", "issuer": h.corp.URL(), "client_id": "c"})
	h.must(200, "PATCH", "/tenants/"+config.ConsoleTenantID, adminKey, map[string]any{"providers": []string{"corp", "shared"}})
	if r := h.do("PATCH", "/connections/shared", connKey, map[string]any{"trust_email": true}); r.status != 403 {
		t.Errorf("connections:write key changing a shared connection the console offers: %d %s, want 403", r.status, r.raw)
	}
	h.must(200, "PATCH", "/connections/shared", adminKey, map[string]any{"trust_email": true})
}
