package callback

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/socialbroker/broker/internal/httpx"
	"github.com/socialbroker/broker/providers"
	"github.com/socialbroker/broker/storage"
	"github.com/socialbroker/broker/tokens"
)

// The fakes below stand in for the provider, the store and the token
// service, so the flow's own decisions can be driven in process (and
// fuzzed) without any server.

const upstreamAuthorize = "https://idp.test/authorize"

// fakeProvider sends browsers to upstreamAuthorize and accepts the code
// "good" every time, as a lax upstream would, and "once" once, as a real
// one does; "bad" is an identity that does not verify; "hangup" is an
// upstream fault during which the client hangs up (the request's context
// carries its cancel, under hangupKey); anything else is an upstream fault.
// It counts the exchanges it was asked for.
type fakeProvider struct {
	name      string
	exchanges atomic.Int32
	onceUsed  atomic.Bool
	// identity, when set, is the identity "good" signs in as.
	identity *providers.Identity
}

func (p *fakeProvider) Name() string { return p.name }

func (p *fakeProvider) AuthCodeURL(_ context.Context, r providers.AuthRequest) (string, error) {
	return upstreamAuthorize + "?" + url.Values{"state": {r.State}, "redirect_uri": {r.RedirectURL}}.Encode(), nil
}

func (p *fakeProvider) Exchange(ctx context.Context, r providers.ExchangeRequest) (*providers.Identity, error) {
	p.exchanges.Add(1)
	switch r.Code {
	case "once":
		if p.onceUsed.Swap(true) {
			return nil, providers.ErrUpstream
		}
		fallthrough
	case "good":
		if p.identity != nil {
			id := *p.identity
			return &id, nil
		}
		return &providers.Identity{Subject: "42", Email: "a@example.test", EmailVerified: true}, nil
	case "bad":
		return nil, providers.ErrInvalidIdentity
	case "hangup":
		if cancel, ok := ctx.Value(hangupKey{}).(context.CancelFunc); ok {
			cancel()
		}
	}
	return nil, providers.ErrUpstream
}

type hangupKey struct{}

// memStates is an in-memory storage.LoginStates.
type memStates struct {
	mu   sync.Mutex
	used map[string]bool
	fail error // when set, every call fails with it
	// lose: another callback spends the state just before this one's
	// session is written, as if it had won a race.
	lose bool
}

func (s *memStates) UseLoginState(ctx context.Context, id string, _ time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.seen(ctx, id)
	if err == nil {
		s.spend(id)
	}
	return err
}

// seen is what a call with id finds: the set failure, the context's
// end (as a real store's call fails), ErrAlreadyUsed, or nil for an
// unused state. The caller holds mu.
func (s *memStates) seen(ctx context.Context, id string) error {
	if s.fail != nil {
		return s.fail
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.used[id] {
		return storage.ErrAlreadyUsed
	}
	return nil
}

func (s *memStates) spend(id string) {
	if s.used == nil || len(s.used) > 10_000 { // bounded: fuzzing spends many states
		s.used = map[string]bool{}
	}
	s.used[id] = true
}

type fakeUsers struct{ disabled bool }

func (u *fakeUsers) Resolve(context.Context, *providers.Identity) (storage.User, error) {
	return storage.User{ID: "user-1", Disabled: u.disabled}, nil
}

// fakeGrants issues one code, spending the grant's login state and
// storing its broker session (into sso, when set) as the store does, in
// the same write.
type fakeGrants struct {
	states *memStates
	sso    *memSSO
}

func (g fakeGrants) IssueCode(ctx context.Context, cg tokens.CodeGrant) (string, string, error) {
	// All or nothing, as in one transaction: the state is spent last,
	// once nothing else can fail. A code answered from the broker
	// session has no state to spend.
	spends := cg.LoginState.ID != ""
	if spends {
		g.states.mu.Lock()
		if g.states.lose {
			g.states.spend(cg.LoginState.ID)
		}
		err := g.states.seen(ctx, cg.LoginState.ID)
		g.states.mu.Unlock()
		if err != nil {
			return "", "", err
		}
	}
	if cg.SSO != nil && g.sso != nil {
		if err := g.sso.PutSSOSession(ctx, *cg.SSO); err != nil {
			return "", "", err
		}
	}
	if spends {
		if err := g.states.UseLoginState(ctx, cg.LoginState.ID, cg.LoginState.ExpiresAt); err != nil {
			return "", "", err
		}
	}
	return "broker-code", "sid-1", nil
}

// testStateKey seals the test flows' states.
var testStateKey = []byte("0123456789abcdef0123456789abcdef")

// registered are the test app's redirect URIs.
var registered = []string{"https://app.example.com/cb", "http://127.0.0.1:5173/callback", "com.example.app:/oauth2redirect"}

// appHome is where error pages about the test app link back to: the
// origin of its first redirect URI (config.Tenant.Home).
const appHome = "https://app.example.com/"

// testDirectory is a fixed Directory.
type testDirectory struct {
	apps      map[string]*App
	upstreams map[string]*Upstream
	realms    map[string]string // verified domain -> upstream
}

func (d testDirectory) App(id string) (*App, bool) {
	a, ok := d.apps[id]
	return a, ok
}

func (d testDirectory) Upstream(name string) (*Upstream, bool) {
	u, ok := d.upstreams[name]
	return u, ok
}

func (d testDirectory) HomeRealm(domain string) (string, bool) {
	u, ok := d.realms[domain]
	return u, ok
}

// testFlow is a Handler mounted on an Echo with the broker's error handler.
type testFlow struct {
	e        *echo.Echo
	dir      testDirectory // the handler's; tests may change its maps' contents before serving
	now      time.Time     // the handler's clock; tests move it
	states   *memStates
	users    *fakeUsers
	upstream *fakeProvider // the provider "fake"
}

func newTestFlow(t testing.TB, issuer string) *testFlow {
	return newTestFlowWithKey(t, issuer, testStateKey)
}

// newTestFlowWithKey is newTestFlow sealing with key; each option may
// change the configuration before the handler is made.
func newTestFlowWithKey(t testing.TB, issuer string, key []byte, options ...func(*Config)) *testFlow {
	t.Helper()
	f := &testFlow{now: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC), states: &memStates{}, users: &fakeUsers{}, upstream: &fakeProvider{name: "fake"}}
	f.dir = testDirectory{
		apps: map[string]*App{"app": {ID: "app", Name: "App", Home: appHome, RedirectURIs: registered, Providers: []string{"fake", "other"},
			Admit: func(*providers.Identity, string) Admission { return Admission{} }}},
		upstreams: map[string]*Upstream{
			"fake":  {Provider: f.upstream, Name: "fake", Type: "oidc", Label: "Fake", Issuer: "https://idp.test"},
			"other": {Provider: &fakeProvider{name: "other"}, Name: "other", Type: "oidc", Label: "Other", Issuer: "https://other.test"},
		},
		realms: map[string]string{},
	}
	cfg := Config{
		Issuer: issuer, LoginTTL: 10 * time.Minute, Directory: f.dir,
		States: f.states, StateKey: key, Users: f.users, Grants: fakeGrants{states: f.states},
		Now: func() time.Time { return f.now }, Logger: slog.New(slog.DiscardHandler),
	}
	for _, o := range options {
		o(&cfg)
	}
	h, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.e = echo.New()
	f.e.HTTPErrorHandler = httpx.ErrorHandler(slog.New(slog.DiscardHandler))
	h.Register(f.e)
	return f
}

// serve answers GET path?rawQuery with the given cookies.
func (f *testFlow) serve(path, rawQuery string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.URL.RawQuery = rawQuery
	for _, c := range cookies {
		req.AddCookie(c)
	}
	w := httptest.NewRecorder()
	f.e.ServeHTTP(w, req)
	return w
}

// appQuery is a valid authorization request of the test app.
func appQuery() url.Values {
	return url.Values{
		"response_type": {"code"}, "client_id": {"app"}, "redirect_uri": {registered[0]},
		"state": {"app-state"}, "code_challenge": {tokens.S256Challenge(strings.Repeat("v", 43))},
		"code_challenge_method": {"S256"},
	}
}

// start begins a sign-in with the fake provider and returns the broker's
// upstream state and the browser-binding cookie.
func (f *testFlow) start(t testing.TB) (state string, cookie *http.Cookie) {
	t.Helper()
	w := f.serve("/auth/fake/login", appQuery().Encode())
	if w.Code != http.StatusFound {
		t.Fatalf("login start: %d %s", w.Code, w.Body)
	}
	loc, err := url.Parse(w.Header().Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	cookies := w.Result().Cookies()
	if len(cookies) != 1 {
		t.Fatalf("login start set %d cookies, want 1", len(cookies))
	}
	return loc.Query().Get("state"), cookies[0]
}
