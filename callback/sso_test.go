package callback

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/socialbroker/broker/storage"
	"github.com/socialbroker/broker/tokens"
)

// memSSO is an in-memory SSOStore whose one user is fakeUsers'.
type memSSO struct {
	mu       sync.Mutex
	sessions map[string]storage.SSOSession // by secret hash
	refuse   bool                          // PutSSOSession fails as for a revoked session
}

func (m *memSSO) PutSSOSession(_ context.Context, s storage.SSOSession) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.refuse {
		return storage.ErrRevoked
	}
	for h, old := range m.sessions {
		if old.ID == s.ID {
			delete(m.sessions, h)
		}
	}
	m.sessions[s.SecretHash] = s
	return nil
}

func (m *memSSO) GetSSOSession(_ context.Context, hash string) (storage.SSOSession, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[hash]
	if !ok {
		return s, storage.ErrNotFound
	}
	return s, nil
}

func (m *memSSO) TouchSSOSession(context.Context, string, time.Time) error { return nil }

func (m *memSSO) GetUser(_ context.Context, id string) (storage.User, error) {
	return storage.User{ID: id, Email: "alice@example.com"}, nil
}

// TestSSOCookie: the broker session cookie is set at the callback with the
// binding cookie's attributes (__Host- and Secure over https, HttpOnly,
// Lax) for max_ttl; only its hash is stored; it signs the browser in
// silently, and an unprefixed copy (tossed by a sibling subdomain) does
// not.
func TestSSOCookie(t *testing.T) {
	store := &memSSO{sessions: map[string]storage.SSOSession{}}
	f := newTestFlowWithKey(t, "https://auth.example.com", testStateKey, func(c *Config) {
		c.SSO = SSOConfig{Enabled: true, IdleTTL: time.Hour, MaxTTL: 24 * time.Hour, Store: store}
		c.Grants = fakeGrants{states: c.Grants.(fakeGrants).states, sso: store}
		a := c.Directory.(testDirectory).apps["app"]
		a.Judge = func([]byte) ([]string, bool) { return nil, true }
	})
	none := appQuery()
	none.Set("prompt", "none")
	silent := func(cookies ...*http.Cookie) url.Values {
		t.Helper()
		w := f.serve("/authorize", none.Encode(), cookies...)
		loc, err := url.Parse(w.Header().Get("Location"))
		if w.Code != http.StatusFound || err != nil {
			t.Fatalf("prompt=none: %d %q, want a redirect", w.Code, w.Header().Get("Location"))
		}
		return loc.Query()
	}
	if q := silent(); q.Get("error") != "login_required" {
		t.Fatalf("prompt=none before any sign-in: %v, want login_required", q)
	}

	state, binding := f.start(t)
	w := f.serve("/auth/fake/callback", url.Values{"state": {state}, "code": {"good"}}.Encode(), binding)
	if w.Code != http.StatusFound {
		t.Fatalf("callback: %d", w.Code)
	}
	var sso *http.Cookie
	for _, c := range w.Result().Cookies() {
		if c.Name == "__Host-broker_sso" {
			sso = c
		}
	}
	if sso == nil || !sso.Secure || !sso.HttpOnly || sso.SameSite != http.SameSiteLaxMode || sso.Path != "/" ||
		sso.Domain != "" || sso.MaxAge != 24*3600 || !tokens.WellFormed(sso.Value) || !strings.Contains(sso.Value, ".") {
		t.Fatalf("broker session cookie = %+v, want __Host-broker_sso, Secure, HttpOnly, Lax, /, 24h, 256 bits and a stamp", sso)
	}
	if _, ok := store.sessions[tokens.StoredKey(sso.Value)]; !ok || len(store.sessions) != 1 {
		t.Fatalf("store holds %v, want one session under the cookie's stamped hash", store.sessions)
	}
	if q := silent(sso); q.Get("code") != "broker-code" {
		t.Errorf("prompt=none with the cookie: %v, want a code", q)
	}
	if q := silent(&http.Cookie{Name: "broker_sso", Value: sso.Value}); q.Get("error") != "login_required" {
		t.Errorf("prompt=none with an unprefixed copy: %v, want login_required", q)
	}
	// A cookie set before secrets were stamped: its session is stored
	// under the secret's plain hash, and still answers.
	legacy := tokens.NewOpaque()
	ss := store.sessions[tokens.StoredKey(sso.Value)]
	ss.SecretHash = tokens.Hash(legacy)
	store.sessions[ss.SecretHash] = ss
	if q := silent(&http.Cookie{Name: sso.Name, Value: legacy}); q.Get("code") != "broker-code" {
		t.Errorf("prompt=none with a cookie without a stamp: %v, want a code", q)
	}
	f.now = f.now.Add(time.Hour)
	if q := silent(sso); q.Get("error") != "login_required" {
		t.Errorf("prompt=none after idle_ttl: %v, want login_required", q)
	}
}

// TestSSOFailureCostsOnlySSO: when the broker session cannot be stored with
// the sign-in's write (renewing one a logout revoked meanwhile), the
// sign-in is written again without it: the app gets its code, the browser
// no broker session cookie.
func TestSSOFailureCostsOnlySSO(t *testing.T) {
	store := &memSSO{sessions: map[string]storage.SSOSession{}, refuse: true}
	f := newTestFlowWithKey(t, "https://auth.example.com", testStateKey, func(c *Config) {
		c.SSO = SSOConfig{Enabled: true, IdleTTL: time.Hour, MaxTTL: 24 * time.Hour, Store: store}
		c.Grants = fakeGrants{states: c.Grants.(fakeGrants).states, sso: store}
	})
	state, binding := f.start(t)
	w := f.serve("/auth/fake/callback", url.Values{"state": {state}, "code": {"good"}}.Encode(), binding)
	loc, err := url.Parse(w.Header().Get("Location"))
	if w.Code != http.StatusFound || err != nil || loc.Query().Get("code") != "broker-code" {
		t.Fatalf("callback: %d %q, want a redirect with the code", w.Code, w.Header().Get("Location"))
	}
	for _, c := range w.Result().Cookies() {
		if strings.Contains(c.Name, "broker_sso") && c.MaxAge >= 0 {
			t.Errorf("broker session cookie %s set though no broker session was stored", c.Name)
		}
	}
	if len(store.sessions) != 0 {
		t.Errorf("store holds %v, want no broker session", store.sessions)
	}
}
