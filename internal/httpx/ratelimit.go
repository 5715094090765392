package httpx

import (
	"errors"
	"log/slog"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
)

// LimiterConfig configures a Limiter: a token bucket per key that holds
// at most Burst requests and refills Burst of them every Per.
type LimiterConfig struct {
	Burst int
	Per   time.Duration
	// MaxKeys bounds how many keys are remembered. Keys idle long enough
	// to have refilled are forgotten first, which loses nothing; past the
	// bound the least recently seen are forgotten too.
	MaxKeys int
	Now     func() time.Time
}

// Limiter is a set of token buckets, one per key (a client address, a
// tenant). Its memory is bounded: keys live in two generations, the
// current and the previous one; a key seen again moves to the current
// generation, and a rotation drops the previous generation whole. Rotation
// happens when the current generation is half full, and otherwise once per
// refill period, so an idle key is dropped only when its bucket is full
// again anyway.
//
// The buckets are hand-written rather than golang.org/x/time/rate
// limiters, for one measured reason: the client-authentication failure
// budget takes a request before the secret is checked and gives it back
// on success (Refund), so that concurrent guesses cannot overspend it, and
// rate.Reservation.CancelAt gives nothing back once the reservation's time
// has passed, which on a real clock is always by the time the secret has
// been compared (tried in 88ed09a: TestClientAuthFailureBudget then
// locks out a client that only ever succeeded).
type Limiter struct {
	cfg   LimiterConfig
	rate  float64 // tokens per second
	burst float64
	idle  time.Duration // an untouched bucket is full again after this

	mu        sync.Mutex
	cur, prev map[string]*bucket
	rotated   time.Time
}

type bucket struct {
	tokens  float64
	last    time.Time
	refused bool // refused since it last allowed: log only the first refusal
}

// NewLimiter returns a Limiter, or nil when cfg limits nothing (a zero
// Burst or Per); a nil *Limiter allows everything.
func NewLimiter(cfg LimiterConfig) *Limiter {
	if cfg.Burst <= 0 || cfg.Per <= 0 {
		return nil
	}
	if cfg.MaxKeys < 2 {
		cfg.MaxKeys = 2
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Limiter{
		cfg: cfg, rate: float64(cfg.Burst) / cfg.Per.Seconds(), burst: float64(cfg.Burst), idle: cfg.Per,
		cur: map[string]*bucket{}, prev: map[string]*bucket{}, rotated: cfg.Now(),
	}
}

// Decision is the outcome of Limiter.Take.
type Decision struct {
	Allowed bool
	// RetryAfter is how long until one request would be allowed.
	RetryAfter time.Duration
	// FirstRefusal is set on the first refusal after an allowed request,
	// so that a flood is logged once, not once per request.
	FirstRefusal bool
}

// Take spends one request of key's budget if it has one.
func (l *Limiter) Take(key string) Decision {
	if l == nil {
		return Decision{Allowed: true}
	}
	now := l.cfg.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.find(key, now)
	if elapsed := now.Sub(b.last).Seconds(); elapsed > 0 {
		b.tokens = math.Min(l.burst, b.tokens+elapsed*l.rate)
	}
	b.last = now
	if b.tokens >= 1 {
		b.tokens--
		b.refused = false
		return Decision{Allowed: true}
	}
	first := !b.refused
	b.refused = true
	wait := time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
	return Decision{RetryAfter: wait, FirstRefusal: first}
}

// Refund gives back the request Take spent for key: for a budget that
// only failures should spend, taken before the attempt and refunded when
// it succeeds, so that concurrent attempts cannot overspend it.
func (l *Limiter) Refund(key string) {
	if l == nil {
		return
	}
	now := l.cfg.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.find(key, now)
	b.tokens = math.Min(l.burst, b.tokens+1)
}

// find returns key's bucket, rotating generations when due.
func (l *Limiter) find(key string, now time.Time) *bucket {
	if len(l.cur) >= l.cfg.MaxKeys/2 || now.Sub(l.rotated) >= l.idle {
		l.prev, l.cur, l.rotated = l.cur, make(map[string]*bucket, len(l.cur)), now
	}
	if b, ok := l.cur[key]; ok {
		return b
	}
	b, ok := l.prev[key]
	if ok {
		delete(l.prev, key)
	} else {
		b = &bucket{tokens: l.burst, last: now}
	}
	l.cur[key] = b
	return b
}

// keys reports how many keys are remembered (for tests).
func (l *Limiter) keys() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.cur) + len(l.prev)
}

// RateLimit refuses requests beyond a budget per client address and per
// tenant with 429 Too Many Requests and Retry-After (RFC 6585 §4,
// RFC 9110 §10.2.3). It guards the endpoints where guessing codes,
// secrets and tokens happens (RFC 6749 §10.10) and where each request
// costs storage (login starts).
type RateLimit struct {
	// Name says what is limited, in logs ("token", "login").
	Name string
	// PerIP and PerTenant are the budgets; nil ones do not limit.
	PerIP, PerTenant *Limiter
	// Tenant returns the configured tenant the request names, or "" when
	// it names none (the tenant budget then does not apply: unknown names
	// must not create buckets). An error ends the request.
	Tenant func(c echo.Context) (string, error)
	// Page answers refusals with an HTML page, for browser navigations;
	// otherwise with an RFC 6749 §5.2-style JSON body.
	Page bool
	Log  *slog.Logger
}

// ErrRateLimited is the cause of a 429.
var ErrRateLimited = errors.New("rate limit exceeded")

// Middleware applies the limits.
func (rl *RateLimit) Middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		ip := c.RealIP()
		d := rl.PerIP.Take(ipKey(ip))
		tenant := ""
		if d.Allowed && rl.PerTenant != nil && rl.Tenant != nil {
			var err error
			if tenant, err = rl.Tenant(c); err != nil {
				return err
			}
			if tenant != "" {
				d = rl.PerTenant.Take(tenant)
			}
		}
		if d.Allowed {
			return next(c)
		}
		if d.FirstRefusal && rl.Log != nil {
			rl.Log.Warn("rate limit exceeded", "limit", rl.Name, "ip", ip, "tenant", tenant)
		}
		if rl.Page {
			setRetryAfter(c, d.RetryAfter)
			return &PageError{Status: http.StatusTooManyRequests, Title: "Too many sign-in attempts",
				Message: "Wait a moment, then start signing in again from the app.", Err: ErrRateLimited}
		}
		return TooManyRequests(c, d.RetryAfter)
	}
}

// TooManyRequests is the refusal of a request beyond its budget: 429 with
// Retry-After in whole seconds (RFC 6585 §4, RFC 9110 §10.2.3) and an
// RFC 6749 §5.2-style JSON body.
func TooManyRequests(c echo.Context, retryAfter time.Duration) error {
	setRetryAfter(c, retryAfter)
	return &echo.HTTPError{Code: http.StatusTooManyRequests, Message: "too many requests; retry after the delay in Retry-After", Internal: ErrRateLimited}
}

func setRetryAfter(c echo.Context, d time.Duration) {
	secs := int(math.Ceil(d.Seconds()))
	c.Response().Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
}

// ipKey is the budget key of a client address. IPv6 clients are keyed by
// their /64: one subscriber commonly holds a whole /64 and could
// otherwise take a fresh budget per address.
func ipKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	if a = a.Unmap(); a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}
