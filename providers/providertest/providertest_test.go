package providertest_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/socialbroker/broker/providers/providertest"
	"golang.org/x/oauth2"
)

const callback = "https://broker.example/cb"

var (
	ann = providertest.User{Subject: "1001", Login: "ann", Name: "Ann", Email: "ann@example.com", EmailVerified: true}
	ben = providertest.User{Subject: "1002", Login: "ben", Name: "Ben <script>", Email: "ben@example.com"}
)

// browser does not follow redirects: the tests read where the fake sends
// the browser.
var browser = &http.Client{
	Timeout:       5 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

func get(t *testing.T, u string) (*http.Response, string) {
	t.Helper()
	resp, err := browser.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func authURL(base string, extra url.Values) string {
	q := url.Values{
		"client_id": {"gh"}, "redirect_uri": {callback}, "scope": {"read:user user:email"}, "state": {"st"},
		"code_challenge":        {oauth2.S256ChallengeFromVerifier(verifier)},
		"code_challenge_method": {"S256"},
	}
	for k, v := range extra {
		q[k] = v
	}
	return base + "/login/oauth/authorize?" + q.Encode()
}

var verifier = oauth2.GenerateVerifier()

func newGitHub(t *testing.T) *providertest.GitHub {
	f := providertest.NewGitHub(providertest.GitHubOptions{ClientID: "gh", ClientSecret: "s",
		RedirectURIs: []string{callback}, Users: []providertest.User{ann, ben}})
	t.Cleanup(f.Close)
	return f
}

func TestChooserPage(t *testing.T) {
	f := newGitHub(t)
	resp, body := get(t, authURL(f.BaseURL(), nil))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, want 200", resp.StatusCode)
	}
	for _, want := range []string{"FAKE GitHub — demo only, not a real sign-in", "Ann", "Ben &lt;script&gt;", "login_as=1001"} {
		if !strings.Contains(body, want) {
			t.Errorf("chooser page lacks %q", want)
		}
	}

	tests := []struct {
		name  string
		extra url.Values
		want  string // the query parameter that must come back
	}{
		{"choose a user", url.Values{"login_as": {"1002"}}, "code"},
		{"cancel", url.Values{"deny": {"1"}}, "error"},
		{"no PKCE", url.Values{"login_as": {"1002"}, "code_challenge": {""}}, "error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, _ := get(t, authURL(f.BaseURL(), tt.extra))
			loc, _ := url.Parse(resp.Header.Get("Location"))
			if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc.String(), callback) {
				t.Fatalf("status %d to %q, want 302 to the callback", resp.StatusCode, loc)
			}
			if loc.Query().Get(tt.want) == "" || loc.Query().Get("state") != "st" {
				t.Errorf("redirect query = %v, want %s and state", loc.Query(), tt.want)
			}
		})
	}
}

func TestAuthorizeRefusesWithoutRedirect(t *testing.T) {
	f := newGitHub(t)
	tests := []struct {
		name  string
		extra url.Values
	}{
		{"unknown client", url.Values{"client_id": {"other"}}},
		{"unregistered redirect_uri", url.Values{"redirect_uri": {"https://evil.example/cb"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, _ := get(t, authURL(f.BaseURL(), tt.extra))
			if resp.StatusCode != http.StatusBadRequest || resp.Header.Get("Location") != "" {
				t.Errorf("status %d, Location %q; want 400 and no redirect", resp.StatusCode, resp.Header.Get("Location"))
			}
		})
	}
}

// TestGitHubTokenAndAPI walks the fake GitHub by hand: form or JSON token
// answers, 200 errors, single-use codes, scopes.
func TestGitHubTokenAndAPI(t *testing.T) {
	f := newGitHub(t)
	code := func() string {
		f.SetNextUser(ann)
		resp, _ := get(t, authURL(f.BaseURL(), url.Values{"scope": {"read:user"}}))
		loc, _ := url.Parse(resp.Header.Get("Location"))
		return loc.Query().Get("code")
	}
	redeem := func(code, accept string) (*http.Response, string) {
		form := url.Values{"client_id": {"gh"}, "client_secret": {"s"}, "code": {code},
			"redirect_uri": {callback}, "code_verifier": {verifier}}
		req, _ := http.NewRequest(http.MethodPost, f.BaseURL()+"/login/oauth/access_token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", accept)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, string(body)
	}

	c := code()
	resp, body := redeem(c, "")
	if got, _ := url.ParseQuery(body); resp.StatusCode != 200 || !strings.HasPrefix(got.Get("access_token"), "gho_") {
		t.Fatalf("form answer: %d %q, want 200 with access_token=gho_...", resp.StatusCode, body)
	}
	token, _ := url.ParseQuery(body)

	resp, body = redeem(c, "application/json")
	var e struct{ Error string }
	_ = json.Unmarshal([]byte(body), &e)
	if resp.StatusCode != 200 || e.Error != "bad_verification_code" {
		t.Errorf("reused code: %d %q, want 200 with error bad_verification_code", resp.StatusCode, body)
	}

	apiGet := func(path, tok string) int {
		req, _ := http.NewRequest(http.MethodGet, f.APIURL()+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// The reuse revoked the first token (RFC 6749 §4.1.2).
	if got := apiGet("/user", token.Get("access_token")); got != http.StatusUnauthorized {
		t.Errorf("/user with a revoked token: %d, want 401", got)
	}
	_, body = redeem(code(), "application/json")
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.Unmarshal([]byte(body), &tok)
	for path, want := range map[string]int{"/user": 200, "/user/emails": 404, "/user/orgs": 200} {
		if got := apiGet(path, tok.AccessToken); got != want {
			t.Errorf("%s with scope read:user: %d, want %d", path, got, want)
		}
	}
}

func TestOIDCDiscovery(t *testing.T) {
	f := providertest.NewOIDC(providertest.OIDCOptions{Title: "Google"})
	t.Cleanup(f.Close)
	_, body := get(t, f.URL()+"/.well-known/openid-configuration")
	var doc map[string]any
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatal(err)
	}
	if doc["issuer"] != f.URL() || doc["jwks_uri"] != f.URL()+"/jwks" {
		t.Errorf("discovery: issuer %v, jwks_uri %v; want %s and its /jwks", doc["issuer"], doc["jwks_uri"], f.URL())
	}
}
