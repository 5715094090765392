package providers_test

import (
	"crypto/rand"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"testing"
	"time"

	"github.com/socialbroker/broker/providers"
	"golang.org/x/oauth2"
)

const callback = "https://broker.example/auth/test/callback"

// upstreamClient is the client every provider gets in these tests.
func upstreamClient() *http.Client { return &http.Client{Timeout: 5 * time.Second} }

// flow shapes one login round trip.
type flow struct {
	WantGroups, WantTeams bool
	// Tamper edits the exchange request: what an attacker or a broker bug
	// would change between the start of the flow and the callback.
	Tamper func(*providers.ExchangeRequest)
}

// login runs a whole round trip: AuthCodeURL, the browser at the upstream
// (which approves at once as its next user), then Exchange.
func login(t *testing.T, p providers.Provider, fl flow) (*providers.Identity, error) {
	t.Helper()
	req := providers.AuthRequest{
		State:       rand.Text(),
		Nonce:       rand.Text(),
		Verifier:    oauth2.GenerateVerifier(),
		RedirectURL: callback,
		WantGroups:  fl.WantGroups,
		WantTeams:   fl.WantTeams,
	}
	authURL, err := p.AuthCodeURL(t.Context(), req)
	if err != nil {
		return nil, err
	}
	back := authorize(t, authURL)
	if got := back.Get("state"); got != req.State {
		t.Fatalf("state back from upstream = %q, want %q", got, req.State)
	}
	ex := providers.ExchangeRequest{
		Code:        back.Get("code"),
		Verifier:    req.Verifier,
		Nonce:       req.Nonce,
		RedirectURL: req.RedirectURL,
		WantGroups:  req.WantGroups,
		WantTeams:   req.WantTeams,
	}
	if fl.Tamper != nil {
		fl.Tamper(&ex)
	}
	return p.Exchange(t.Context(), ex)
}

// authorize plays the browser at the upstream's authorization endpoint: it
// does not follow the redirect back and returns the query sent to the
// broker's callback.
func authorize(t *testing.T, authURL string) url.Values {
	t.Helper()
	browser := &http.Client{
		Timeout:       5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := browser.Get(authURL)
	if err != nil {
		t.Fatalf("GET authorization URL: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("authorization endpoint: status %d, want 302; body: %.300s", resp.StatusCode, body)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatalf("Location: %v", err)
	}
	if e := loc.Query().Get("error"); e != "" {
		t.Fatalf("authorization endpoint refused: %s: %s", e, loc.Query().Get("error_description"))
	}
	return loc.Query()
}

// appleCode plays the browser at a form_post upstream (Apple): it reads
// the code from the self-submitting form instead of a redirect.
func appleCode(t *testing.T, p providers.Provider) providers.ExchangeRequest {
	t.Helper()
	req := providers.AuthRequest{State: rand.Text(), Nonce: rand.Text(), Verifier: oauth2.GenerateVerifier(), RedirectURL: callback}
	authURL, err := p.AuthCodeURL(t.Context(), req)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`name="code" value="([^"]+)"`).FindSubmatch(body)
	if m == nil {
		t.Fatalf("no code in the form: %.300s", body)
	}
	return providers.ExchangeRequest{Code: string(m[1]), Verifier: req.Verifier, Nonce: req.Nonce, RedirectURL: callback}
}
