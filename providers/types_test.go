package providers_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/socialbroker/broker/providers"
	"github.com/socialbroker/broker/providers/providertest"
)

func TestGitLabGroups(t *testing.T) {
	u := providertest.User{Subject: "42", Login: "alice", Name: "Alice", Email: "alice@acme.test", EmailVerified: true,
		Groups: []string{"acme", "acme/platform"}}
	fake := providertest.NewGitLab(providertest.OIDCOptions{ClientID: "c", ClientSecret: "s", Users: []providertest.User{u}})
	defer fake.Close()
	p, err := providers.New(providers.Spec{Name: "gitlab", Type: "gitlab", ClientID: "c", ClientSecret: "s", BaseURL: fake.URL()},
		providers.Deps{HTTPClient: upstreamClient()})
	if err != nil {
		t.Fatal(err)
	}
	fake.SetNextUser(u)
	id, err := login(t, p, flow{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(id.Groups, u.Groups) {
		t.Errorf("groups = %v, want %v (from userinfo)", id.Groups, u.Groups)
	}
	if id.EmailTrusted {
		t.Error("gitlab emails trusted by default; want opt-in (trust_email)")
	}
}

func TestAppleClientSecretRenewal(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	u := providertest.User{Subject: "000.apple", Name: "A B", Email: "a@privaterelay.appleid.com", EmailVerified: true, PrivateEmail: true}
	fake := providertest.NewApple(providertest.AppleOptions{Users: []providertest.User{u}, Now: clock})
	defer fake.Close()
	p, err := providers.New(providers.Spec{Name: "apple", Type: "apple", ClientID: fake.ClientID(), TeamID: fake.TeamID(),
		KeyID: fake.KeyID(), PrivateKey: fake.PrivateKeyPEM(), Issuer: fake.URL()}, providers.Deps{HTTPClient: upstreamClient(), Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	secretAt := func(at time.Time) (iat, exp time.Time) {
		t.Helper()
		now = at
		fake.SetNextUser(u)
		// The fake answers with a form, not a redirect: exchange its code
		// directly.
		code := appleCode(t, p)
		if _, err := p.Exchange(t.Context(), code); err != nil {
			t.Fatalf("exchange at %s: %v", at, err)
		}
		_, c, _ := fake.LastClientSecret()
		i, _ := c.GetIssuedAt()
		e, _ := c.GetExpirationTime()
		return i.Time, e.Time
	}
	start := now
	iat1, exp1 := secretAt(start)
	if exp1.Sub(iat1) > providertest.AppleSecretMaxTTL {
		t.Fatalf("secret lives %s", exp1.Sub(iat1))
	}
	iat2, _ := secretAt(start.Add(time.Hour))
	if !iat2.Equal(iat1) {
		t.Errorf("a secret an hour old was not reused")
	}
	// Long before it expires, a new one is signed.
	iat3, exp3 := secretAt(exp1.Add(-time.Hour))
	if !iat3.After(iat1) || !exp3.After(exp1) {
		t.Errorf("secret not renewed before expiry: iat %s exp %s (first exp %s)", iat3, exp3, exp1)
	}
}

func TestSpecProblems(t *testing.T) {
	tests := []struct {
		spec providers.Spec
		want []string // keys with a problem
	}{
		{providers.Spec{Type: "apple", ClientID: "c", TeamID: "T"}, []string{"key_id", "private_key"}},
		{providers.Spec{Type: "apple", ClientID: "c", TeamID: "T", KeyID: "K", PrivateKey: "not pem", ClientSecret: "x"}, []string{"client_secret", "private_key"}},
		{providers.Spec{Type: "microsoft", ClientID: "c", ClientSecret: "s", Tenant: "acme.com"}, []string{"tenant"}},
		{providers.Spec{Type: "microsoft", ClientID: "c", ClientSecret: "s", AllowedTenants: []string{"acme"}}, []string{"tenant"}},
		{providers.Spec{Type: "oauth2", ClientID: "c", ClientSecret: "s", AuthorizeURL: "https://a/x"}, []string{"token_url", "userinfo_url", "claims.subject"}},
		{providers.Spec{Type: "facebook", ClientID: "c", ClientSecret: "s", TrustEmail: ptr(true)}, []string{"trust_email"}},
		{providers.Spec{Type: "discord", ClientID: "c", ClientSecret: "s", Issuer: "https://x"}, []string{"issuer"}},
		{providers.Spec{Type: "google", ClientID: "c", ClientSecret: "s", TeamID: "T"}, []string{"team_id"}},
		{providers.Spec{Type: "slack", ClientID: "c", ClientSecret: "s"}, nil},
		{providers.Spec{Type: "oidc", ClientID: "c"}, []string{"issuer"}},
		{providers.Spec{Type: "oidc", ClientID: "c", Issuer: "https://idp.example/"}, nil}, // a public client
		{providers.Spec{Type: "oidc", ClientID: "c", Issuer: "https://u:p@idp.example", BaseURL: "https://x"}, []string{"base_url", "issuer"}},
		{providers.Spec{Type: "google", ClientID: "c", ClientSecret: "s", Scopes: []string{"email"}}, []string{"scopes"}},
		{providers.Spec{Type: "google", ClientID: "c"}, []string{"client_secret"}},
		{providers.Spec{Type: "github", ClientID: "c", ClientSecret: "s", Issuer: "https://github.com", HostedDomain: "x"}, []string{"hosted_domain", "issuer"}},
		{providers.Spec{Type: "github", ClientID: "c", ClientSecret: "s", BaseURL: "ghe.example", APIURL: "https://ghe.example/api/v3?x"}, []string{"base_url", "api_url"}},
		{providers.Spec{ClientID: "c"}, []string{"type"}},
		{providers.Spec{Type: "saml", ClientID: "c"}, []string{"type"}},
	}
	for _, tt := range tests {
		var got []string
		for _, p := range providers.CheckSpec(tt.spec) {
			got = append(got, p.Field)
		}
		if strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("%s %+v: problems at %v, want %v", tt.spec.Type, tt.spec, providers.CheckSpec(tt.spec), tt.want)
		}
	}
}

// A refused key's message names the types that read it, so that the
// operator learns where it belongs.
func TestSpecProblemNamesReaders(t *testing.T) {
	tests := []struct {
		spec providers.Spec
		want string
	}{
		{providers.Spec{Type: "oidc", ClientID: "c", Issuer: "https://i.example", APIURL: "https://x"}, "api_url: not used by oidc providers: only for github providers"},
		{providers.Spec{Type: "oidc", ClientID: "c", Issuer: "https://i.example", BaseURL: "https://x"}, "base_url: not used by oidc providers: only for github, gitlab, discord and facebook providers"},
		{providers.Spec{Type: "github", ClientID: "c", ClientSecret: "s", Scopes: []string{"repo"}}, "scopes: not used by github providers; the broker asks GitHub"},
	}
	for _, tt := range tests {
		ps := providers.CheckSpec(tt.spec)
		if len(ps) != 1 || !strings.HasPrefix(ps[0].Field+": "+ps[0].Message, tt.want) {
			t.Errorf("%+v: problems %v, want one starting %q", tt.spec, ps, tt.want)
		}
	}
}

// Every type's defaults, as New uses them, are what WithDefaults reports;
// what a Spec sets is kept.
func TestSpecWithDefaults(t *testing.T) {
	oidcScopes := []string{"openid", "email", "profile"}
	tests := []struct {
		in   providers.Spec
		want providers.Spec
	}{
		{providers.Spec{Type: "google"}, providers.Spec{Type: "google", Issuer: "https://accounts.google.com", Scopes: oidcScopes, TrustEmail: ptr(true)}},
		{providers.Spec{Type: "github"}, providers.Spec{Type: "github", BaseURL: "https://github.com", APIURL: "https://api.github.com", TrustEmail: ptr(true)}},
		{providers.Spec{Type: "oidc", Issuer: "https://i.example/"}, providers.Spec{Type: "oidc", Issuer: "https://i.example/", Scopes: oidcScopes, TrustEmail: ptr(false)}},
		{providers.Spec{Type: "microsoft"}, providers.Spec{Type: "microsoft", Authority: "https://login.microsoftonline.com", Scopes: oidcScopes, TrustEmail: ptr(true)}},
		{providers.Spec{Type: "apple"}, providers.Spec{Type: "apple", Issuer: "https://appleid.apple.com", Scopes: []string{"openid", "name", "email"}, TrustEmail: ptr(true)}},
		{providers.Spec{Type: "gitlab"}, providers.Spec{Type: "gitlab", BaseURL: "https://gitlab.com", Scopes: oidcScopes, TrustEmail: ptr(false)}},
		{providers.Spec{Type: "slack"}, providers.Spec{Type: "slack", Issuer: "https://slack.com", Scopes: []string{"openid", "profile", "email"}, TrustEmail: ptr(false)}},
		// A preset's endpoints stay out: base_url rebases them.
		{providers.Spec{Type: "discord", BaseURL: "https://fake.example"}, providers.Spec{Type: "discord", BaseURL: "https://fake.example", Scopes: []string{"identify", "email"}, TrustEmail: ptr(false)}},
		{providers.Spec{Type: "google", Issuer: "https://fake.example", Scopes: []string{"openid"}, TrustEmail: ptr(false)},
			providers.Spec{Type: "google", Issuer: "https://fake.example", Scopes: []string{"openid"}, TrustEmail: ptr(false)}},
	}
	for _, tt := range tests {
		got := tt.in.WithDefaults()
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%+v.WithDefaults() =\n  %+v\nwant\n  %+v", tt.in, got, tt.want)
		}
	}
	// The defaults are data shared by every caller: a result is its own.
	a := providers.Spec{Type: "google"}.WithDefaults()
	a.Scopes[0] = "changed"
	if b := (providers.Spec{Type: "google"}).WithDefaults(); b.Scopes[0] != "openid" {
		t.Errorf("changing one result's scopes changed the defaults: %v", b.Scopes)
	}
}

func ptr[T any](v T) *T { return &v }

func TestOAuth2Refusals(t *testing.T) {
	u := providertest.User{Subject: "1", Login: "a", Email: "a@x.test", EmailVerified: true}
	fake := providertest.NewDiscord(providertest.OAuth2Options{ClientID: "c", ClientSecret: "s", Users: []providertest.User{u}})
	defer fake.Close()
	spec := providers.Spec{Name: "discord", Type: "discord", ClientID: "c", ClientSecret: "s", BaseURL: fake.BaseURL()}
	p, err := providers.New(spec, providers.Deps{HTTPClient: upstreamClient()})
	if err != nil {
		t.Fatal(err)
	}
	fake.SetNextUser(u)
	id, err := login(t, p, flow{})
	if err != nil || id.Subject != "1" || !id.EmailVerified || id.EmailTrusted {
		t.Fatalf("discord: %+v, %v; want verified, untrusted by default", id, err)
	}
	fake.SetNextUser(u)
	_, err = login(t, p, flow{Tamper: func(r *providers.ExchangeRequest) { r.Verifier += "x" }})
	if !errors.Is(err, providers.ErrInvalidIdentity) {
		t.Errorf("wrong verifier: %v, want ErrInvalidIdentity", err)
	}
	// A mapping naming a field the answer lacks.
	spec.Claims.Subject = "no.such.field"
	p, _ = providers.New(spec, providers.Deps{HTTPClient: upstreamClient()})
	fake.SetNextUser(u)
	if _, err = login(t, p, flow{}); !errors.Is(err, providers.ErrInvalidIdentity) {
		t.Errorf("no subject: %v, want ErrInvalidIdentity", err)
	}
	fake.SetDown(true)
	spec.Claims.Subject = ""
	p, _ = providers.New(spec, providers.Deps{HTTPClient: &http.Client{Timeout: time.Second}})
	if _, err = p.Exchange(t.Context(), providers.ExchangeRequest{Code: "c", Verifier: strings.Repeat("v", 43)}); !errors.Is(err, providers.ErrUpstream) {
		t.Errorf("upstream down: %v, want ErrUpstream", err)
	}
}

// A connection record (the admin API's JSON, the same keys as a
// [providers.NAME] section) builds a provider through the same factory.
func TestSpecFromConnectionJSON(t *testing.T) {
	u := providertest.User{Subject: "7", Login: "d", Name: "D", Email: "d@x.test", EmailVerified: true}
	fake := providertest.NewDiscord(providertest.OAuth2Options{ClientID: "c", ClientSecret: "s", Users: []providertest.User{u}})
	defer fake.Close()
	body := `{"id":"acme-discord","type":"oauth2","client_id":"c","client_secret":"s",
		"authorize_url":"` + fake.BaseURL() + `/oauth2/authorize","token_url":"` + fake.BaseURL() + `/api/oauth2/token",
		"userinfo_url":"` + fake.BaseURL() + `/api/users/@me","scopes":["identify","email"],"trust_email":true,
		"claims":{"subject":"id","email":"email","email_verified":"verified","username":"username"}}`
	var spec providers.Spec
	if err := json.Unmarshal([]byte(body), &spec); err != nil {
		t.Fatal(err)
	}
	if ps := providers.CheckSpec(spec); len(ps) > 0 {
		t.Fatalf("problems: %v", ps)
	}
	p, err := providers.New(spec, providers.Deps{HTTPClient: upstreamClient()})
	if err != nil {
		t.Fatal(err)
	}
	fake.SetNextUser(u)
	id, err := login(t, p, flow{})
	if err != nil || p.Name() != "acme-discord" || id.Subject != "7" || id.Username != "d" || !id.EmailVerified || !id.EmailTrusted {
		t.Fatalf("identity %+v, %v", id, err)
	}
}

// A generic OIDC provider's groups claim, an array or one string, becomes
// the identity's groups; members that are not strings are skipped.
func TestOIDCGroupsClaim(t *testing.T) {
	u := providertest.User{Subject: "g1", Email: "g@x.test", EmailVerified: true}
	fake := providertest.NewOIDC(providertest.OIDCOptions{ClientID: "c", ClientSecret: "s", Users: []providertest.User{u}})
	defer fake.Close()
	p, err := providers.New(providers.Spec{Name: "corp", Type: "oidc", Issuer: fake.URL(), ClientID: "c", ClientSecret: "s"},
		providers.Deps{HTTPClient: upstreamClient()})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		claim any
		want  []string
	}{
		{[]any{"eng", 42, "ops"}, []string{"eng", "ops"}},
		{"eng", []string{"eng"}},
		{map[string]any{"x": 1}, nil},
	} {
		fake.SetIDTokenMutator(func(c map[string]any) { c["groups"] = tt.claim })
		fake.SetNextUser(u)
		id, err := login(t, p, flow{})
		if err != nil {
			t.Fatalf("groups %v: %v", tt.claim, err)
		}
		if !reflect.DeepEqual(id.Groups, tt.want) {
			t.Errorf("groups claim %v: got %v, want %v", tt.claim, id.Groups, tt.want)
		}
	}
}

// LinkedIn's ID tokens carry no nonce and its token endpoint refuses a
// confidential client's code_verifier (invalid_client): the preset must
// sign in against a fake that does both, where plain OIDC cannot, and a
// nonce that is present must still match.
func TestLinkedInWithoutNonceOrPKCE(t *testing.T) {
	u := providertest.User{Subject: "li-1", Name: "Alice", Email: "alice@acme.test", EmailVerified: true}
	fake := providertest.NewLinkedIn(providertest.OIDCOptions{ClientID: "c", ClientSecret: "s", Users: []providertest.User{u}})
	defer fake.Close()
	spec := providers.Spec{Name: "linkedin", Type: "linkedin", ClientID: "c", ClientSecret: "s", Issuer: fake.URL()}
	p, err := providers.New(spec, providers.Deps{HTTPClient: upstreamClient()})
	if err != nil {
		t.Fatal(err)
	}
	fake.SetNextUser(u)
	id, err := login(t, p, flow{})
	if err != nil {
		t.Fatalf("linkedin sign-in: %v", err)
	}
	if id.Subject != u.Subject || !id.EmailVerified {
		t.Errorf("identity = %+v, want subject %s with its email verified (string \"true\")", id, u.Subject)
	}

	fake.SetIDTokenMutator(func(c map[string]any) { c["nonce"] = "another-login" })
	fake.SetNextUser(u)
	if _, err := login(t, p, flow{}); !errors.Is(err, providers.ErrInvalidIdentity) {
		t.Errorf("ID token with another login's nonce: err = %v, want ErrInvalidIdentity", err)
	}
	fake.Reset()

	spec.Type = "oidc"
	plain, err := providers.New(spec, providers.Deps{HTTPClient: upstreamClient()})
	if err != nil {
		t.Fatal(err)
	}
	fake.SetNextUser(u)
	if _, err := login(t, plain, flow{}); err == nil || !strings.Contains(err.Error(), "invalid_client") {
		t.Errorf("plain OIDC against LinkedIn: err = %v, want invalid_client (it sends a code_verifier)", err)
	}
}
