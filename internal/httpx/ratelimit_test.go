package httpx

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)} }

func TestLimiterBucket(t *testing.T) {
	clk := newClock()
	l := NewLimiter(LimiterConfig{Burst: 3, Per: 3 * time.Second, MaxKeys: 100, Now: clk.Now})
	for i := range 3 {
		if d := l.Take("a"); !d.Allowed {
			t.Fatalf("request %d refused within the burst", i+1)
		}
	}
	d := l.Take("a")
	if d.Allowed || d.RetryAfter != time.Second || !d.FirstRefusal {
		t.Fatalf("4th request: %+v, want refused, retry after 1s, first refusal", d)
	}
	if d := l.Take("a"); d.Allowed || d.FirstRefusal {
		t.Fatalf("5th request: %+v, want refused, not the first refusal", d)
	}
	if d := l.Take("b"); !d.Allowed {
		t.Fatal("another key shares the budget")
	}
	clk.Advance(time.Second)
	if d := l.Take("a"); !d.Allowed {
		t.Fatal("refilled token refused")
	}
	if d := l.Take("a"); d.Allowed {
		t.Fatal("only one token should have refilled")
	}
	clk.Advance(time.Hour)
	for i := range 3 {
		if d := l.Take("a"); !d.Allowed {
			t.Fatalf("after a long idle, request %d refused: the bucket must refill to the burst", i+1)
		}
	}
	if d := l.Take("a"); d.Allowed {
		t.Fatal("the bucket refilled beyond its burst")
	}
}

func TestLimiterDisabled(t *testing.T) {
	for _, cfg := range []LimiterConfig{{Burst: 0, Per: time.Second}, {Burst: 5}} {
		l := NewLimiter(cfg)
		if l != nil {
			t.Fatalf("NewLimiter(%+v) = %v, want nil", cfg, l)
		}
		for range 100 {
			if !l.Take("x").Allowed {
				t.Fatal("a nil limiter refused")
			}
		}
	}
}

func TestLimiterBoundedMemory(t *testing.T) {
	clk := newClock()
	l := NewLimiter(LimiterConfig{Burst: 1, Per: time.Minute, MaxKeys: 1000, Now: clk.Now})
	for i := range 100_000 {
		l.Take(fmt.Sprint("10.0.", i/256, ".", i%256))
		if n := l.keys(); n > 1000 {
			t.Fatalf("after %d keys the limiter holds %d, want at most 1000", i+1, n)
		}
	}
	// Idle keys go away once they would be full again anyway.
	clk.Advance(time.Minute)
	l.Take("x")
	clk.Advance(time.Minute)
	l.Take("x")
	if n := l.keys(); n != 1 {
		t.Errorf("after two idle periods the limiter holds %d keys, want 1", n)
	}
}

// A key whose bucket is not yet full survives a rotation by time.
func TestLimiterKeepsBusyKeys(t *testing.T) {
	clk := newClock()
	l := NewLimiter(LimiterConfig{Burst: 2, Per: time.Minute, MaxKeys: 1000, Now: clk.Now})
	clk.Advance(30 * time.Second)
	l.Take("hot")
	l.Take("hot") // empty
	clk.Advance(30 * time.Second)
	l.Take("other") // a minute since the limiter started: rotation
	clk.Advance(time.Second)
	// 31s refilled one token; a forgotten key would have two.
	if d := l.Take("hot"); !d.Allowed {
		t.Fatal("refilled token refused")
	}
	if d := l.Take("hot"); d.Allowed {
		t.Error("a busy key was forgotten by a rotation and got a fresh budget")
	}
}

func TestRateLimitMiddleware(t *testing.T) {
	clk := newClock()
	e := echo.New()
	e.HTTPErrorHandler = ErrorHandler(slog.New(slog.DiscardHandler))
	e.IPExtractor = echo.ExtractIPDirect()
	rl := &RateLimit{
		Name:      "token",
		PerIP:     NewLimiter(LimiterConfig{Burst: 2, Per: 10 * time.Second, MaxKeys: 100, Now: clk.Now}),
		PerTenant: NewLimiter(LimiterConfig{Burst: 3, Per: 30 * time.Second, MaxKeys: 100, Now: clk.Now}),
		Tenant: func(c echo.Context) (string, error) {
			if id := c.QueryParam("client_id"); id == "app" || id == "other" {
				return id, nil
			}
			return "", nil
		},
	}
	e.GET("/json", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) }, rl.Middleware)
	page := *rl
	page.Page = true
	page.PerIP = NewLimiter(LimiterConfig{Burst: 1, Per: time.Minute, MaxKeys: 100, Now: clk.Now})
	e.GET("/page", func(c echo.Context) error { return c.NoContent(http.StatusNoContent) }, page.Middleware)

	get := func(path, ip string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		r.RemoteAddr = ip + ":1234"
		w := httptest.NewRecorder()
		e.ServeHTTP(w, r)
		return w
	}
	// Per IP: the third request from one address is refused.
	get("/json", "192.0.2.1")
	get("/json", "192.0.2.1")
	w := get("/json", "192.0.2.1")
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "5" {
		t.Fatalf("3rd request: %d Retry-After %q, want 429 and 5", w.Code, w.Header().Get("Retry-After"))
	}
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") || !strings.Contains(w.Body.String(), `"error":"rate_limited"`) {
		t.Errorf("429 body %s (%s), want an RFC 6749-style JSON error", w.Body, ct)
	}
	// Another address is unaffected.
	if w := get("/json", "192.0.2.2"); w.Code != http.StatusNoContent {
		t.Fatalf("another address: %d", w.Code)
	}
	// Per tenant, across addresses.
	for i := range 3 {
		if w := get("/json?client_id=app", fmt.Sprint("198.51.100.", i)); w.Code != http.StatusNoContent {
			t.Fatalf("tenant request %d: %d", i+1, w.Code)
		}
	}
	if w := get("/json?client_id=app", "198.51.100.99"); w.Code != http.StatusTooManyRequests {
		t.Fatalf("4th request for one tenant from a fresh address: %d, want 429", w.Code)
	}
	if w := get("/json?client_id=other", "198.51.100.98"); w.Code != http.StatusNoContent {
		t.Fatalf("another tenant: %d", w.Code)
	}
	// Unknown tenants get no bucket of their own, and share none.
	for i := range 5 {
		if w := get(fmt.Sprint("/json?client_id=nope", i), fmt.Sprint("203.0.113.", i)); w.Code != http.StatusNoContent {
			t.Fatalf("unknown tenant %d: %d", i, w.Code)
		}
	}
	// IPv6 addresses of one /64 share a budget.
	get("/json", "2001:db8:1:2::1")
	get("/json", "2001:db8:1:2::2")
	if w := get("/json", "2001:db8:1:2::3"); w.Code != http.StatusTooManyRequests {
		t.Errorf("third address of one /64: %d, want 429", w.Code)
	}
	// Browser endpoints answer with a page.
	get("/page", "192.0.2.50")
	w = get("/page", "192.0.2.50")
	if w.Code != http.StatusTooManyRequests || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/html") || w.Header().Get("Retry-After") != "60" {
		t.Errorf("page refusal: %d %q Retry-After %q", w.Code, w.Header().Get("Content-Type"), w.Header().Get("Retry-After"))
	}
	if w.Header().Get("Location") != "" {
		t.Error("a refused login start redirected")
	}
	// Time refills.
	clk.Advance(5 * time.Second)
	if w := get("/json", "192.0.2.1"); w.Code != http.StatusNoContent {
		t.Errorf("after Retry-After: %d", w.Code)
	}
}

// TestLimiterRefund: a budget taken before an attempt and refunded on
// success is spent only by failures, and never grows past its burst.
func TestLimiterRefund(t *testing.T) {
	clk := newClock()
	l := NewLimiter(LimiterConfig{Burst: 2, Per: time.Minute, MaxKeys: 100, Now: clk.Now})
	for i := range 10 {
		if d := l.Take("a"); !d.Allowed {
			t.Fatalf("success %d refused: refunds must give the request back", i+1)
		}
		l.Refund("a")
	}
	l.Refund("a") // on a full bucket: nothing to give back
	for i := range 2 {
		if d := l.Take("a"); !d.Allowed {
			t.Fatalf("failure %d refused within the burst", i+1)
		}
	}
	if d := l.Take("a"); d.Allowed {
		t.Fatal("third failure allowed: the bucket grew past its burst")
	}
	var none *Limiter
	none.Refund("a") // a nil Limiter limits nothing and refunds nothing
}
