package providers_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/socialbroker/broker/providers"
	"github.com/socialbroker/broker/providers/providertest"
)

var octocat = providertest.User{
	Subject: "583231",
	Login:   "octocat",
	Name:    "The Octocat",
	Picture: "https://avatars.example/u/583231",
	Emails: []providertest.Email{
		{Email: "old@example.com", Verified: false},
		{Email: "work@acme.com", Verified: true},
		{Email: "octo@example.com", Primary: true, Verified: true},
	},
	Orgs:  []string{"acme", "github", "golang", "kubernetes", "rust-lang"},
	Teams: []string{"acme/admins", "acme/web", "golang/tools"},
}

func TestGitHubLogin(t *testing.T) {
	withPublicEmail := octocat
	withPublicEmail.PublicEmail = "work@acme.com"
	unverifiedPrimary := providertest.User{Subject: "42", Login: "newbie", PublicEmail: "newbie@example.com",
		Emails: []providertest.Email{{Email: "newbie@example.com", Primary: true}}}

	tests := []struct {
		name    string
		user    providertest.User
		flow    flow
		fault   func(*providertest.GitHub)
		want    *providers.Identity
		wantErr error
	}{
		{
			name: "private email: only /user/emails has it", user: octocat,
			want: &providers.Identity{Provider: "github", Subject: "583231", Username: "octocat",
				Name: "The Octocat", Picture: octocat.Picture, Email: "octo@example.com", EmailVerified: true,
				VerifiedEmails: []string{"octo@example.com", "work@acme.com"}, EmailTrusted: true},
		},
		{
			name: "public email is not the primary", user: withPublicEmail,
			want: &providers.Identity{Provider: "github", Subject: "583231", Username: "octocat",
				Name: "The Octocat", Picture: octocat.Picture, Email: "octo@example.com", EmailVerified: true,
				VerifiedEmails: []string{"octo@example.com", "work@acme.com"}, EmailTrusted: true},
		},
		{
			name: "no verified primary: public email, unverified", user: unverifiedPrimary,
			want: &providers.Identity{Provider: "github", Subject: "42", Username: "newbie",
				Email: "newbie@example.com", EmailTrusted: true},
		},
		{
			name: "orgs, over several pages", user: octocat, flow: flow{WantGroups: true},
			want: &providers.Identity{Provider: "github", Subject: "583231", Username: "octocat",
				Name: "The Octocat", Picture: octocat.Picture, Email: "octo@example.com", EmailVerified: true,
				VerifiedEmails: []string{"octo@example.com", "work@acme.com"}, EmailTrusted: true,
				Groups: octocat.Orgs},
		},
		{
			name: "orgs and teams, over several pages", user: octocat, flow: flow{WantGroups: true, WantTeams: true},
			want: &providers.Identity{Provider: "github", Subject: "583231", Username: "octocat",
				Name: "The Octocat", Picture: octocat.Picture, Email: "octo@example.com", EmailVerified: true,
				VerifiedEmails: []string{"octo@example.com", "work@acme.com"}, EmailTrusted: true,
				Groups: append(slices.Clone(octocat.Orgs), octocat.Teams...), Teams: true},
		},
		{
			name: "token error, GitHub style (HTTP 200)", user: octocat,
			fault:   func(f *providertest.GitHub) { f.SetTokenError("bad_verification_code") },
			wantErr: providers.ErrInvalidIdentity,
		},
		{
			name: "PKCE verifier mismatch", user: octocat,
			flow: flow{Tamper: func(r *providers.ExchangeRequest) {
				r.Verifier = "0123456789012345678901234567890123456789012345"
			}},
			wantErr: providers.ErrInvalidIdentity,
		},
		{
			name: "unknown code", user: octocat,
			flow:    flow{Tamper: func(r *providers.ExchangeRequest) { r.Code = "forged" }},
			wantErr: providers.ErrInvalidIdentity,
		},
		{
			name: "slow", user: octocat,
			fault:   func(f *providertest.GitHub) { f.SetDelay(30 * time.Second) },
			wantErr: providers.ErrUpstream,
		},
		{
			name: "down", user: octocat,
			fault:   func(f *providertest.GitHub) { f.SetDown(true) },
			wantErr: providers.ErrUpstream,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := providertest.NewGitHub(providertest.GitHubOptions{
				ClientID: "gh-client", ClientSecret: "gh-secret", RedirectURIs: []string{callback},
				MaxPerPage: 2, // five orgs: three pages
			})
			t.Cleanup(fake.Close)
			p, err := providers.NewGitHub(providers.GitHubConfig{ClientID: "gh-client", ClientSecret: "gh-secret",
				BaseURL: fake.BaseURL(), APIURL: fake.APIURL(),
				HTTPClient: &http.Client{Timeout: 300 * time.Millisecond}})
			if err != nil {
				t.Fatal(err)
			}
			fake.SetNextUser(tt.user)
			fl := tt.flow
			if tt.fault != nil {
				// Faults start after the browser step, at the exchange.
				tamper := fl.Tamper
				fl.Tamper = func(r *providers.ExchangeRequest) {
					if tamper != nil {
						tamper(r)
					}
					tt.fault(fake)
				}
			}

			got, err := login(t, p, fl)
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

// TestGitHubReadsTogether: /user, /user/emails and the orgs are read at
// once, so that a sign-in waits for GitHub's slowest answer rather than
// the sum of them. Each read is held until all three have started, which
// reads made one after the other never do.
func TestGitHubReadsTogether(t *testing.T) {
	fake := providertest.NewGitHub(providertest.GitHubOptions{ClientID: "gh-client", ClientSecret: "gh-secret", RedirectURIs: []string{callback}})
	t.Cleanup(fake.Close)
	started := map[string]chan struct{}{}
	for _, path := range []string{"/api/v3/user", "/api/v3/user/emails", "/api/v3/user/orgs"} {
		started[path] = make(chan struct{})
	}
	var once sync.Map
	held := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if ch, ok := started[r.URL.Path]; ok {
			if _, seen := once.LoadOrStore(r.URL.Path, true); !seen {
				close(ch)
			}
			for path, ch := range started {
				select {
				case <-ch:
				case <-time.After(5 * time.Second):
					return nil, fmt.Errorf("%s did not start while %s waited", path, r.URL.Path)
				}
			}
		}
		return http.DefaultTransport.RoundTrip(r)
	})
	p, err := providers.NewGitHub(providers.GitHubConfig{ClientID: "gh-client", ClientSecret: "gh-secret",
		BaseURL: fake.BaseURL(), APIURL: fake.APIURL(), HTTPClient: &http.Client{Transport: held, Timeout: 10 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	fake.SetNextUser(octocat)
	got, err := login(t, p, flow{WantGroups: true})
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	if got.Subject != octocat.Subject || !reflect.DeepEqual(got.Groups, octocat.Orgs) || got.Email != "octo@example.com" {
		t.Errorf("identity = %+v, want octocat's, with orgs and primary email", got)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestGitHubWrongSecret(t *testing.T) {
	fake := providertest.NewGitHub(providertest.GitHubOptions{ClientID: "gh-client", ClientSecret: "gh-secret"})
	t.Cleanup(fake.Close)
	p, err := providers.NewGitHub(providers.GitHubConfig{ClientID: "gh-client", ClientSecret: "wrong",
		BaseURL: fake.BaseURL(), APIURL: fake.APIURL(), HTTPClient: upstreamClient()})
	if err != nil {
		t.Fatal(err)
	}
	fake.SetNextUser(octocat)
	if _, err := login(t, p, flow{}); !errors.Is(err, providers.ErrInvalidIdentity) {
		t.Errorf("login error = %v, want %v", err, providers.ErrInvalidIdentity)
	}
}

func TestGitHubAuthCodeURL(t *testing.T) {
	tests := []struct {
		name      string
		cfg       providers.GitHubConfig
		req       providers.AuthRequest
		wantURL   string
		wantQuery map[string]string
	}{
		{
			name:    "github.com by default",
			cfg:     providers.GitHubConfig{},
			req:     providers.AuthRequest{State: "st", Verifier: "v", RedirectURL: callback},
			wantURL: "https://github.com/login/oauth/authorize",
			wantQuery: map[string]string{"client_id": "id", "scope": "read:user user:email", "state": "st",
				"redirect_uri": callback, "code_challenge_method": "S256", "login": "", "prompt": ""},
		},
		{
			name: "GitHub Enterprise Server, orgs, hints",
			cfg:  providers.GitHubConfig{BaseURL: "https://ghe.acme.com/", APIURL: "https://ghe.acme.com/api/v3"},
			req: providers.AuthRequest{State: "st", Verifier: "v", RedirectURL: callback, WantGroups: true,
				LoginHint: "octocat", Prompt: "consent select_account"},
			wantURL: "https://ghe.acme.com/login/oauth/authorize",
			wantQuery: map[string]string{"scope": "read:user user:email read:org", "login": "octocat",
				"prompt": "select_account"},
		},
		{
			name:      "teams need read:org too",
			cfg:       providers.GitHubConfig{},
			req:       providers.AuthRequest{State: "st", Verifier: "v", RedirectURL: callback, WantTeams: true},
			wantURL:   "https://github.com/login/oauth/authorize",
			wantQuery: map[string]string{"scope": "read:user user:email read:org"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.ClientID, cfg.ClientSecret, cfg.HTTPClient = "id", "secret", upstreamClient()
			p, err := providers.NewGitHub(cfg)
			if err != nil {
				t.Fatal(err)
			}
			raw, err := p.AuthCodeURL(t.Context(), tt.req)
			if err != nil {
				t.Fatal(err)
			}
			u, err := url.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			if got := u.Scheme + "://" + u.Host + u.Path; got != tt.wantURL {
				t.Errorf("endpoint = %q, want %q", got, tt.wantURL)
			}
			for k, want := range tt.wantQuery {
				if got := u.Query().Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

func TestNewGitHubValidates(t *testing.T) {
	valid := providers.GitHubConfig{ClientID: "id", ClientSecret: "secret", HTTPClient: http.DefaultClient}
	tests := []struct {
		name    string
		edit    func(*providers.GitHubConfig)
		wantErr bool
	}{
		{"valid", func(*providers.GitHubConfig) {}, false},
		{"no client ID", func(c *providers.GitHubConfig) { c.ClientID = "" }, true},
		{"no secret", func(c *providers.GitHubConfig) { c.ClientSecret = "" }, true},
		{"no HTTP client", func(c *providers.GitHubConfig) { c.HTTPClient = nil }, true},
		{"relative API URL", func(c *providers.GitHubConfig) { c.APIURL = "/api/v3" }, true},
		{"base URL with query", func(c *providers.GitHubConfig) { c.BaseURL = "https://ghe.example?x=1" }, true},
		{"name with slash", func(c *providers.GitHubConfig) { c.Name = "a/b" }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid
			tt.edit(&cfg)
			_, err := providers.NewGitHub(cfg)
			if got := err != nil; got != tt.wantErr {
				t.Errorf("NewGitHub error = %v, want error: %v", err, tt.wantErr)
			}
		})
	}
}

// TestGitHubTrustEmailFalse: trust_email = false is obeyed: GitHub's
// verified primary email is reported, but not as one GitHub vouches for.
func TestGitHubTrustEmailFalse(t *testing.T) {
	fake := providertest.NewGitHub(providertest.GitHubOptions{ClientID: "gh-client", ClientSecret: "gh-secret", RedirectURIs: []string{callback}})
	t.Cleanup(fake.Close)
	for _, trust := range []bool{true, false} {
		p, err := providers.New(providers.Spec{Name: "github", Type: "github", ClientID: "gh-client", ClientSecret: "gh-secret",
			BaseURL: fake.BaseURL(), APIURL: fake.APIURL(), TrustEmail: &trust}, providers.Deps{HTTPClient: &http.Client{Timeout: 5 * time.Second}})
		if err != nil {
			t.Fatal(err)
		}
		fake.SetNextUser(octocat)
		got, err := login(t, p, flow{})
		if err != nil {
			t.Fatalf("login: %v", err)
		}
		if got.Email != "octo@example.com" || !got.EmailVerified || got.EmailTrusted != trust {
			t.Errorf("trust_email = %v: identity email %q verified %v trusted %v", trust, got.Email, got.EmailVerified, got.EmailTrusted)
		}
	}
}
