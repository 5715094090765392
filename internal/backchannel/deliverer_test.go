package backchannel

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/socialbroker/broker/storage"
	"github.com/socialbroker/broker/storage/sqlite"
	"github.com/socialbroker/broker/tokens"
)

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// signer mints a recognisable token without keys.
type signer struct{}

func (signer) SignLogoutToken(issuer string, l tokens.Logout, _ time.Time) (string, error) {
	return issuer + "|" + l.TenantID + "|" + l.UserID + "|" + l.SessionID, nil
}

// app is a back-channel endpoint that answers with status and records
// the tokens it receives.
type app struct {
	srv    *httptest.Server
	status atomic.Int32
	mu     sync.Mutex
	got    []string
}

func newApp(t *testing.T) *app {
	a := &app{}
	a.status.Store(http.StatusOK)
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		a.mu.Lock()
		a.got = append(a.got, r.PostFormValue("logout_token"))
		a.mu.Unlock()
		w.WriteHeader(int(a.status.Load()))
	}))
	t.Cleanup(a.srv.Close)
	return a
}

func (a *app) received() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.got...)
}

// setup returns a store holding one revoked session per tenant, and a
// Deliverer sending tenant "a"'s to uri.
func setup(t *testing.T, uri string, gaveUp func(storage.LogoutDelivery, error)) (*Deliverer, *sqlite.Store, *clock) {
	t.Helper()
	s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "b.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := t.Context()
	if err := s.CreateUser(ctx, storage.User{ID: "u1"}, storage.Identity{UserID: "u1", Provider: "google", Subject: "1"}); err != nil {
		t.Fatal(err)
	}
	for _, tenant := range []string{"a", "none", "unknown"} {
		sess := storage.Session{ID: "sid-" + tenant, UserID: "u1", TenantID: tenant, AuthTime: t0, CreatedAt: t0, ExpiresAt: t0.Add(24 * time.Hour)}
		if err := s.CreateSession(ctx, storage.NewSession{Session: sess}); err != nil {
			t.Fatal(err)
		}
		if err := s.RevokeSession(ctx, sess.ID, t0); err != nil {
			t.Fatal(err)
		}
	}
	c := &clock{now: t0}
	d, err := New(Config{Issuer: "https://broker.test", Outbox: s, Signer: signer{}, Now: c.Now, GaveUp: gaveUp,
		URI: func(tenant string) (string, bool) {
			switch tenant {
			case "a":
				return uri, true
			case "none":
				return "", true
			}
			return "", false
		}})
	if err != nil {
		t.Fatal(err)
	}
	return d, s, c
}

func pending(t *testing.T, s *sqlite.Store, at time.Time) []storage.LogoutDelivery {
	t.Helper()
	ds, err := s.ClaimLogouts(t.Context(), at, at.Add(time.Second), 100)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func TestDelivers(t *testing.T) {
	a := newApp(t)
	d, s, _ := setup(t, a.srv.URL, nil)
	if err := d.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got, want := a.received(), []string{"https://broker.test|a|u1|sid-a"}; len(got) != 1 || got[0] != want[0] {
		t.Fatalf("app received %q, want %q", got, want)
	}
	// Sent, and the tenant without a URI's dropped; only the unknown
	// tenant's is left, for a retry.
	if ds := pending(t, s, t0.Add(48*time.Hour)); len(ds) != 1 || ds[0].TenantID != "unknown" {
		t.Fatalf("left in the outbox: %+v, want the unknown tenant's delivery", ds)
	}
}

// An app that fails gets the logout again after a backoff, until it
// answers 200 or 204.
func TestRetriesUntilTheAppAnswers(t *testing.T) {
	a := newApp(t)
	a.status.Store(http.StatusServiceUnavailable)
	d, _, c := setup(t, a.srv.URL, nil)
	for i, wait := range []time.Duration{0, firstRetry - time.Millisecond, time.Millisecond, 2*firstRetry - time.Millisecond, time.Millisecond} {
		c.Advance(wait)
		if err := d.Run(t.Context()); err != nil {
			t.Fatal(err)
		}
		// Attempts happen at 0, 2s and 6s; not a moment before they are due.
		want := []int{1, 1, 2, 2, 3}[i]
		if got := len(a.received()); got != want {
			t.Fatalf("step %d: %d attempts, want %d", i, got, want)
		}
	}
	a.status.Store(http.StatusNoContent)
	c.Advance(time.Hour)
	d.Run(t.Context())
	c.Advance(time.Hour)
	d.Run(t.Context())
	if got := len(a.received()); got != 4 {
		t.Fatalf("%d attempts, want 4: the 204 ends the delivery", got)
	}
}

// A delivery still failing an hour after its session ended is given up,
// and reported.
func TestGivesUp(t *testing.T) {
	a := newApp(t)
	a.status.Store(http.StatusInternalServerError)
	var mu sync.Mutex
	var gaveUp []storage.LogoutDelivery
	d, s, c := setup(t, a.srv.URL, func(dl storage.LogoutDelivery, _ error) {
		mu.Lock() // deliveries of one round run side by side
		defer mu.Unlock()
		gaveUp = append(gaveUp, dl)
	})
	for c.Now().Sub(t0) < GiveUpAfter+maxRetry {
		d.Run(t.Context())
		c.Advance(maxRetry / 4)
	}
	if len(gaveUp) != 2 || gaveUp[0].SessionID == gaveUp[1].SessionID {
		t.Fatalf("given up: %+v, want sid-a's and sid-unknown's deliveries", gaveUp)
	}
	if n := len(a.received()); n < 12 {
		t.Errorf("%d attempts in an hour, want at least 12", n)
	}
	if ds := pending(t, s, c.Now().Add(48*time.Hour)); len(ds) != 0 {
		t.Fatalf("left in the outbox: %+v", ds)
	}
}

// A redirect is not success, and is not followed.
func TestRedirectIsFailure(t *testing.T) {
	a := newApp(t)
	redirect := httptest.NewServer(http.RedirectHandler(a.srv.URL, http.StatusTemporaryRedirect))
	defer redirect.Close()
	d, s, _ := setup(t, redirect.URL, nil)
	d.Run(t.Context())
	if got := a.received(); len(got) != 0 {
		t.Fatalf("the redirect was followed: %q", got)
	}
	if ds := pending(t, s, t0.Add(time.Minute)); len(ds) != 2 || ds[0].TenantID != "a" && ds[1].TenantID != "a" {
		t.Fatalf("pending after a redirect: %+v, want tenant a's delivery still there", ds)
	}
}

func TestBackoff(t *testing.T) {
	for n, want := range map[int]time.Duration{1: 2 * time.Second, 2: 4 * time.Second, 3: 8 * time.Second, 8: 256 * time.Second, 9: maxRetry, 60: maxRetry} {
		if got := Backoff(n); got != want {
			t.Errorf("Backoff(%d) = %s, want %s", n, got, want)
		}
	}
}

// A guarded tenant's URI (one set through the admin API) never reaches a
// loopback or private address, whatever it resolved to when it was set
// (server-side request forgery by DNS rebinding): the delivery fails and
// is retried, and the address is never connected to.
func TestGuardedTenantNeverReachesPrivateAddresses(t *testing.T) {
	a := newApp(t) // on 127.0.0.1
	d, s, _ := setup(t, a.srv.URL, nil)
	d.cfg.Guarded = func(tenant string) bool { return tenant == "a" }
	if err := d.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := a.received(); len(got) != 0 {
		t.Fatalf("a guarded tenant's delivery reached a loopback address: %q", got)
	}
	if ds := pending(t, s, t0.Add(48*time.Hour)); len(ds) != 2 {
		t.Fatalf("left in the outbox: %+v, want the guarded tenant's delivery (retried) and the unknown tenant's", ds)
	}
}
