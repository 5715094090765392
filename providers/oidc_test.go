package providers_test

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/socialbroker/broker/providers"
	"github.com/socialbroker/broker/providers/providertest"
)

var alice = providertest.User{
	Subject:       "108234567890",
	Login:         "alice",
	Name:          "Alice Liddell",
	Picture:       "https://pics.example/alice.png",
	Email:         "alice@acme.com",
	EmailVerified: true,
	HostedDomain:  "acme.com",
}

func TestOIDCLogin(t *testing.T) {
	tests := []struct {
		name    string
		google  bool // NewGoogle rather than NewOIDC
		minimal bool // the fake's ID token holds only sub and protocol claims
		user    providertest.User
		config  func(*providers.OIDCConfig)
		fault   func(*providertest.OIDC)
		tamper  func(*providers.ExchangeRequest)
		want    *providers.Identity
		wantErr error
	}{
		{
			name: "google", google: true, user: alice,
			want: &providers.Identity{Provider: "google", Subject: alice.Subject, Username: "alice",
				Name: alice.Name, Picture: alice.Picture, Email: alice.Email, EmailVerified: true,
				VerifiedEmails: []string{alice.Email}, EmailTrusted: true},
		},
		{
			name: "google hosted domain", google: true, user: alice,
			config: func(c *providers.OIDCConfig) { c.HostedDomain = "acme.com" },
			want: &providers.Identity{Provider: "google", Subject: alice.Subject, Username: "alice",
				Name: alice.Name, Picture: alice.Picture, Email: alice.Email, EmailVerified: true,
				VerifiedEmails: []string{alice.Email}, EmailTrusted: true},
		},
		{
			// Google is the authority only for @gmail.com and Workspace
			// (hd) accounts: a consumer account opened with a company
			// address is verified but not trusted.
			name: "google consumer account with a company address", google: true,
			user: providertest.User{Subject: "s3", Email: "ex-employee@acme.com", EmailVerified: true},
			want: &providers.Identity{Provider: "google", Subject: "s3", Email: "ex-employee@acme.com",
				EmailVerified: true, VerifiedEmails: []string{"ex-employee@acme.com"}},
		},
		{
			name: "google consumer account with a gmail.com address", google: true,
			user: providertest.User{Subject: "s4", Email: "carol@GMail.com", EmailVerified: true},
			want: &providers.Identity{Provider: "google", Subject: "s4", Email: "carol@GMail.com",
				EmailVerified: true, VerifiedEmails: []string{"carol@GMail.com"}, EmailTrusted: true},
		},
		{
			name: "google with trust_email off", google: true, user: alice,
			config: func(c *providers.OIDCConfig) { c.TrustEmail = false },
			want: &providers.Identity{Provider: "google", Subject: alice.Subject, Username: "alice",
				Name: alice.Name, Picture: alice.Picture, Email: alice.Email, EmailVerified: true,
				VerifiedEmails: []string{alice.Email}},
		},
		{
			name: "generic, minimal ID token, completed from userinfo", minimal: true, user: alice,
			want: &providers.Identity{Provider: "corp", Subject: alice.Subject, Username: "alice",
				Name: alice.Name, Picture: alice.Picture, Email: alice.Email, EmailVerified: true,
				VerifiedEmails: []string{alice.Email}},
		},
		{
			name: "generic, trusted emails", user: alice,
			config: func(c *providers.OIDCConfig) { c.TrustEmail = true },
			want: &providers.Identity{Provider: "corp", Subject: alice.Subject, Username: "alice",
				Name: alice.Name, Picture: alice.Picture, Email: alice.Email, EmailVerified: true,
				VerifiedEmails: []string{alice.Email}, EmailTrusted: true},
		},
		{
			name: "email_verified false", user: providertest.User{Subject: "s1", Email: "bob@example.com"},
			want: &providers.Identity{Provider: "corp", Subject: "s1", Email: "bob@example.com"},
		},
		{
			name: "email_verified absent", user: alice,
			fault: func(f *providertest.OIDC) {
				f.SetIDTokenMutator(func(c map[string]any) { delete(c, "email_verified") })
			},
			want: &providers.Identity{Provider: "corp", Subject: alice.Subject, Username: "alice",
				Name: alice.Name, Picture: alice.Picture, Email: alice.Email},
		},
		{
			name: `email_verified as the string "true"`, user: alice,
			fault: func(f *providertest.OIDC) {
				f.SetIDTokenMutator(func(c map[string]any) { c["email_verified"] = "true" })
			},
			want: &providers.Identity{Provider: "corp", Subject: alice.Subject, Username: "alice",
				Name: alice.Name, Picture: alice.Picture, Email: alice.Email, EmailVerified: true,
				VerifiedEmails: []string{alice.Email}},
		},
		{
			name: "wrong nonce", user: alice,
			tamper:  func(r *providers.ExchangeRequest) { r.Nonce = "another-login-attempt" },
			wantErr: providers.ErrInvalidIdentity,
		},
		{
			name: "no nonce in ID token", user: alice,
			fault: func(f *providertest.OIDC) {
				f.SetIDTokenMutator(func(c map[string]any) { delete(c, "nonce") })
			},
			wantErr: providers.ErrInvalidIdentity,
		},
		{
			name: "signed with an unpublished key", user: alice,
			fault:   func(f *providertest.OIDC) { f.SetSignWithUnpublishedKey(true) },
			wantErr: providers.ErrInvalidIdentity,
		},
		{
			name: "alg none", user: alice,
			fault:   func(f *providertest.OIDC) { f.SetAlgNone(true) },
			wantErr: providers.ErrInvalidIdentity,
		},
		{
			name: "wrong aud", user: alice,
			fault: func(f *providertest.OIDC) {
				f.SetIDTokenMutator(func(c map[string]any) { c["aud"] = "someone-else" })
			},
			wantErr: providers.ErrInvalidIdentity,
		},
		{
			name: "azp is another client", user: alice,
			fault: func(f *providertest.OIDC) {
				f.SetIDTokenMutator(func(c map[string]any) { c["aud"] = []string{"client", "other"}; c["azp"] = "other" })
			},
			wantErr: providers.ErrInvalidIdentity,
		},
		{
			name: "wrong iss", user: alice,
			fault: func(f *providertest.OIDC) {
				f.SetIDTokenMutator(func(c map[string]any) { c["iss"] = "https://evil.example" })
			},
			wantErr: providers.ErrInvalidIdentity,
		},
		{
			name: "expired ID token", user: alice,
			config:  func(c *providers.OIDCConfig) { c.Now = func() time.Time { return time.Now().Add(2 * time.Hour) } },
			wantErr: providers.ErrInvalidIdentity,
		},
		{
			name: "hd mismatch", google: true, user: alice,
			config:  func(c *providers.OIDCConfig) { c.HostedDomain = "other.com" },
			wantErr: providers.ErrInvalidIdentity,
		},
		{
			name: "hd required, consumer account", google: true,
			user:    providertest.User{Subject: "s2", Email: "carol@gmail.com", EmailVerified: true},
			config:  func(c *providers.OIDCConfig) { c.HostedDomain = "acme.com" },
			wantErr: providers.ErrInvalidIdentity,
		},
		{
			name: "userinfo sub differs from ID token sub", minimal: true, user: alice,
			fault: func(f *providertest.OIDC) {
				f.SetIDTokenMutator(func(c map[string]any) { c["sub"] = "victim" })
			},
			wantErr: providers.ErrInvalidIdentity,
		},
		{
			name: "token endpoint refuses the code", user: alice,
			fault:   func(f *providertest.OIDC) { f.SetTokenError("invalid_grant") },
			wantErr: providers.ErrInvalidIdentity,
		},
		{
			name: "PKCE verifier mismatch", user: alice,
			tamper: func(r *providers.ExchangeRequest) {
				r.Verifier = "0123456789012345678901234567890123456789012345"
			},
			wantErr: providers.ErrInvalidIdentity,
		},
		{
			name: "redirect URL mismatch", user: alice,
			tamper:  func(r *providers.ExchangeRequest) { r.RedirectURL = "https://evil.example/cb" },
			wantErr: providers.ErrInvalidIdentity,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := providertest.NewOIDC(providertest.OIDCOptions{
				Title: "Google", ClientID: "client", ClientSecret: "secret",
				RedirectURIs: []string{callback}, MinimalIDToken: tt.minimal,
			})
			t.Cleanup(fake.Close)
			cfg := providers.OIDCConfig{Name: "corp", Issuer: fake.URL(), ClientID: "client",
				ClientSecret: "secret", HTTPClient: upstreamClient()}
			newProvider := providers.NewOIDC
			if tt.google {
				cfg.Name, cfg.TrustEmail = "", true // trust_email's default for google
				newProvider = providers.NewGoogle
			}
			if tt.config != nil {
				tt.config(&cfg)
			}
			p, err := newProvider(cfg)
			if err != nil {
				t.Fatal(err)
			}
			fake.SetNextUser(tt.user)
			if tt.fault != nil {
				tt.fault(fake)
			}

			got, err := login(t, p, flow{Tamper: tt.tamper})
			t.Logf("error: %v", err)

			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("login error = %v, want %v", err, tt.wantErr)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("identity = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestOIDCAuthCodeURL(t *testing.T) {
	fake := providertest.NewOIDC(providertest.OIDCOptions{ClientID: "client"})
	t.Cleanup(fake.Close)
	p, err := providers.NewGoogle(providers.OIDCConfig{Issuer: fake.URL(), ClientID: "client",
		HostedDomain: "acme.com", HTTPClient: upstreamClient()})
	if err != nil {
		t.Fatal(err)
	}
	req := providers.AuthRequest{State: "st", Nonce: "no", Verifier: "v-0123456789012345678901234567890123456789",
		RedirectURL: callback, LoginHint: "alice@acme.com", Prompt: "select_account"}
	raw, err := p.AuthCodeURL(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(req.Verifier))
	want := map[string]string{
		"response_type": "code", "client_id": "client", "redirect_uri": callback,
		"scope": "openid email profile", "state": "st", "nonce": "no",
		"code_challenge":        base64.RawURLEncoding.EncodeToString(sum[:]),
		"code_challenge_method": "S256",
		"login_hint":            "alice@acme.com", "prompt": "select_account", "hd": "acme.com",
	}
	q := u.Query()
	for k, v := range want {
		if got := q.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if got, want := u.Scheme+"://"+u.Host+u.Path, fake.URL()+"/authorize"; got != want {
		t.Errorf("endpoint = %q, want %q", got, want)
	}
}

func TestOIDCCodeIsSingleUse(t *testing.T) {
	fake := providertest.NewOIDC(providertest.OIDCOptions{ClientID: "client", ClientSecret: "secret"})
	t.Cleanup(fake.Close)
	p, err := providers.NewOIDC(providers.OIDCConfig{Name: "corp", Issuer: fake.URL(), ClientID: "client",
		ClientSecret: "secret", HTTPClient: upstreamClient()})
	if err != nil {
		t.Fatal(err)
	}
	fake.SetNextUser(alice)
	var first providers.ExchangeRequest
	if _, err := login(t, p, flow{Tamper: func(r *providers.ExchangeRequest) { first = *r }}); err != nil {
		t.Fatalf("first exchange: %v", err)
	}
	if _, err := p.Exchange(t.Context(), first); !errors.Is(err, providers.ErrInvalidIdentity) {
		t.Errorf("second exchange error = %v, want %v", err, providers.ErrInvalidIdentity)
	}
}

// TestOIDCUpstreamFaults checks that an unreachable or slow upstream reads
// as ErrUpstream, within the client's timeout, and that a failed discovery
// is retried rather than cached.
func TestOIDCUpstreamFaults(t *testing.T) {
	const timeout = 300 * time.Millisecond
	const delay = 30 * time.Second // far beyond the timeout: waiting for it would show
	tests := []struct {
		name  string
		fault func(*providertest.OIDC)
	}{
		{"slow", func(f *providertest.OIDC) { f.SetDelay(delay) }},
		{"down", func(f *providertest.OIDC) { f.SetDown(true) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := providertest.NewOIDC(providertest.OIDCOptions{ClientID: "client", ClientSecret: "secret"})
			t.Cleanup(fake.Close)
			p, err := providers.NewOIDC(providers.OIDCConfig{Name: "corp", Issuer: fake.URL(),
				ClientID: "client", ClientSecret: "secret", HTTPClient: &http.Client{Timeout: timeout}})
			if err != nil {
				t.Fatal(err)
			}
			req := providers.AuthRequest{State: "s", Nonce: "n", Verifier: "v", RedirectURL: callback}

			// Discovery fails, and is tried again once the upstream is back.
			tt.fault(fake)
			start := time.Now()
			_, err = p.AuthCodeURL(t.Context(), req)
			if !errors.Is(err, providers.ErrUpstream) {
				t.Fatalf("AuthCodeURL error = %v, want %v", err, providers.ErrUpstream)
			}
			if elapsed := time.Since(start); elapsed >= delay/2 {
				t.Errorf("AuthCodeURL took %v: the client timeout %v was not applied", elapsed, timeout)
			}
			fake.Reset()
			if _, err := p.AuthCodeURL(t.Context(), req); err != nil {
				t.Fatalf("AuthCodeURL after recovery: %v", err)
			}

			// The exchange fails the same way.
			fake.SetNextUser(alice)
			_, err = login(t, p, flow{Tamper: func(*providers.ExchangeRequest) { tt.fault(fake) }})
			t.Logf("error: %v", err)
			if !errors.Is(err, providers.ErrUpstream) {
				t.Errorf("Exchange error = %v, want %v", err, providers.ErrUpstream)
			}
		})
	}
}

func TestOIDCConcurrentFirstUse(t *testing.T) {
	fake := providertest.NewOIDC(providertest.OIDCOptions{ClientID: "client"})
	t.Cleanup(fake.Close)
	p, err := providers.NewOIDC(providers.OIDCConfig{Name: "corp", Issuer: fake.URL(), ClientID: "client",
		HTTPClient: upstreamClient()})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			_, err := p.AuthCodeURL(t.Context(), providers.AuthRequest{State: "s", Nonce: "n", Verifier: "v", RedirectURL: callback})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func TestNewOIDCValidates(t *testing.T) {
	valid := providers.OIDCConfig{Name: "corp", Issuer: "https://idp.example", ClientID: "c", HTTPClient: http.DefaultClient}
	tests := []struct {
		name    string
		edit    func(*providers.OIDCConfig)
		wantErr bool
	}{
		{"valid, issuer unreachable: no I/O yet", func(*providers.OIDCConfig) {}, false},
		{"no name", func(c *providers.OIDCConfig) { c.Name = "" }, true},
		{"name with slash", func(c *providers.OIDCConfig) { c.Name = "a/b" }, true},
		{"relative issuer", func(c *providers.OIDCConfig) { c.Issuer = "idp.example" }, true},
		{"no client ID", func(c *providers.OIDCConfig) { c.ClientID = "" }, true},
		{"no HTTP client", func(c *providers.OIDCConfig) { c.HTTPClient = nil }, true},
		{"scopes without openid", func(c *providers.OIDCConfig) { c.Scopes = []string{"email"} }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid
			tt.edit(&cfg)
			_, err := providers.NewOIDC(cfg)
			if got := err != nil; got != tt.wantErr {
				t.Errorf("NewOIDC error = %v, want error: %v", err, tt.wantErr)
			}
		})
	}
}

// TestOIDCES256Upstream: an issuer that signs ID tokens with ES256 (it says
// so in discovery) verifies, and a forgery by another ES256 key does not.
func TestOIDCES256Upstream(t *testing.T) {
	fake := providertest.NewOIDC(providertest.OIDCOptions{ClientID: "client", ClientSecret: "secret", SigningAlg: "ES256"})
	t.Cleanup(fake.Close)
	p, err := providers.NewOIDC(providers.OIDCConfig{Name: "corp", Issuer: fake.URL(), ClientID: "client",
		ClientSecret: "secret", HTTPClient: upstreamClient()})
	if err != nil {
		t.Fatal(err)
	}
	fake.SetNextUser(alice)
	id, err := login(t, p, flow{})
	if err != nil || id.Subject != alice.Subject {
		t.Fatalf("ES256 login: %+v, %v", id, err)
	}
	fake.SetSignWithUnpublishedKey(true)
	fake.SetNextUser(alice)
	if _, err := login(t, p, flow{}); !errors.Is(err, providers.ErrInvalidIdentity) {
		t.Errorf("ES256 forgery: %v, want %v", err, providers.ErrInvalidIdentity)
	}
}
