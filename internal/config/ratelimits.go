package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// RateLimits is the [rate_limits] table: token buckets on the endpoints an
// attacker would hammer to guess codes, secrets or tokens (RFC 6749
// §10.10) or to make the broker work for nothing. Each
// endpoint group has a bucket per client IP and a bucket per tenant
// (client_id). A zero Rate ("0") disables that bucket.
type RateLimits struct {
	// LoginPerIP and LoginPerTenant limit /authorize and
	// /auth/{provider}/login, where each request seals a login state and
	// sends the browser upstream.
	LoginPerIP     Rate `toml:"login_per_ip"`
	LoginPerTenant Rate `toml:"login_per_tenant"`
	// TokenPerIP and TokenPerTenant limit the endpoints where clients
	// authenticate (RFC 6749 §2.3): POST /token, /revoke and /introspect,
	// which share one budget (code guessing, client secret guessing).
	TokenPerIP     Rate `toml:"token_per_ip"`
	TokenPerTenant Rate `toml:"token_per_tenant"`
	// AuthFailuresPerClient is how many failed authentications a
	// confidential client may have at those endpoints (RFC 6749 §2.3.1,
	// §10.10): only failures spend it, and once it is spent its client_id
	// is answered 429 without its secret being checked, whatever the
	// address, until the bucket refills.
	AuthFailuresPerClient Rate `toml:"auth_failures_per_client"`
	// RefreshPerIP and RefreshPerTenant limit POST /auth/refresh.
	RefreshPerIP     Rate `toml:"refresh_per_ip"`
	RefreshPerTenant Rate `toml:"refresh_per_tenant"`
	// MaxKeys bounds how many clients each limiter remembers, so that a
	// flood from many addresses cannot grow memory without bound.
	MaxKeys int `toml:"max_keys"`
}

// Rate is "N/unit": at most N requests in a burst, refilled at N per unit
// (a token bucket). Units: s, m, h, or any Go duration ("10/30s"). "0"
// disables the limit.
type Rate struct {
	Count int
	Per   time.Duration
}

// Default rate limits: generous, because many users can share one address
// (offices, mobile carriers) and one confidential app's server redeems
// every code of its users from a single address.
var (
	DefaultLoginPerIP       = Rate{Count: 120, Per: time.Minute}
	DefaultLoginPerTenant   = Rate{Count: 6000, Per: time.Minute}
	DefaultTokenPerIP       = Rate{Count: 300, Per: time.Minute}
	DefaultTokenPerTenant   = Rate{Count: 6000, Per: time.Minute}
	DefaultRefreshPerIP     = Rate{Count: 300, Per: time.Minute}
	DefaultRefreshPerTenant = Rate{Count: 6000, Per: time.Minute}
	// A client that knows its secret does not fail twenty times a minute;
	// a guesser gets one try every three seconds. It is also how often an
	// attacker who knows a client_id must fail to keep that client locked
	// out: the price of slowing guessers down per client (§10.10).
	DefaultAuthFailuresPerClient = Rate{Count: 20, Per: time.Minute}
)

// DefaultRateLimitKeys is the default of rate_limits.max_keys.
const DefaultRateLimitKeys = 100_000

func defaultRateLimits() RateLimits {
	return RateLimits{
		LoginPerIP: DefaultLoginPerIP, LoginPerTenant: DefaultLoginPerTenant,
		TokenPerIP: DefaultTokenPerIP, TokenPerTenant: DefaultTokenPerTenant,
		RefreshPerIP: DefaultRefreshPerIP, RefreshPerTenant: DefaultRefreshPerTenant,
		AuthFailuresPerClient: DefaultAuthFailuresPerClient,
		MaxKeys:               DefaultRateLimitKeys,
	}
}

// Enabled reports whether the rate limits anything.
func (r Rate) Enabled() bool { return r.Count > 0 && r.Per > 0 }

// PerSecond is the refill rate of the bucket.
func (r Rate) PerSecond() float64 {
	if !r.Enabled() {
		return 0
	}
	return float64(r.Count) / r.Per.Seconds()
}

// maxRatePeriod keeps a rate's period meaningful for a token bucket.
const maxRatePeriod = 24 * time.Hour

// UnmarshalText parses "60/m", "5/s", "1000/h", "10/30s" or "0".
func (r *Rate) UnmarshalText(text []byte) error {
	s := strings.TrimSpace(string(text))
	if s == "0" || s == "off" {
		*r = Rate{}
		return nil
	}
	count, unit, ok := strings.Cut(s, "/")
	n, err := strconv.Atoi(strings.TrimSpace(count))
	if !ok || err != nil || n < 0 {
		return fmt.Errorf(`invalid rate %q: want requests per period, like "60/m", "5/s" or "1000/h", or "0" to disable`, text)
	}
	var per time.Duration
	switch unit = strings.TrimSpace(unit); unit {
	case "s":
		per = time.Second
	case "m":
		per = time.Minute
	case "h":
		per = time.Hour
	default:
		per, err = time.ParseDuration(unit)
		if err != nil || per <= 0 {
			return fmt.Errorf(`invalid rate %q: the period must be s, m, h or a duration like "30s"`, text)
		}
	}
	if per > maxRatePeriod {
		return fmt.Errorf("invalid rate %q: the period must be at most 24h", text)
	}
	if n == 0 {
		per = 0
	}
	*r = Rate{Count: n, Per: per}
	return nil
}

// MarshalText writes the rate the way UnmarshalText reads it.
func (r Rate) MarshalText() ([]byte, error) {
	if !r.Enabled() {
		return []byte("0"), nil
	}
	switch r.Per {
	case time.Second:
		return []byte(strconv.Itoa(r.Count) + "/s"), nil
	case time.Minute:
		return []byte(strconv.Itoa(r.Count) + "/m"), nil
	case time.Hour:
		return []byte(strconv.Itoa(r.Count) + "/h"), nil
	}
	return []byte(strconv.Itoa(r.Count) + "/" + r.Per.String()), nil
}

func validateRateLimits(r *RateLimits, ps *problems) {
	// A bucket of one million requests is no limit at all; it is more
	// likely a typo for a smaller number or a longer period.
	for _, l := range []struct {
		key string
		v   Rate
	}{
		{"rate_limits.login_per_ip", r.LoginPerIP}, {"rate_limits.login_per_tenant", r.LoginPerTenant},
		{"rate_limits.token_per_ip", r.TokenPerIP}, {"rate_limits.token_per_tenant", r.TokenPerTenant},
		{"rate_limits.refresh_per_ip", r.RefreshPerIP}, {"rate_limits.refresh_per_tenant", r.RefreshPerTenant},
		{"rate_limits.auth_failures_per_client", r.AuthFailuresPerClient},
	} {
		if l.v.Count > 1_000_000 {
			ps.add(l.key, `at most 1000000 requests per period; use "0" to disable the limit`)
		}
	}
	if r.MaxKeys < 100 || r.MaxKeys > 10_000_000 {
		ps.add("rate_limits.max_keys", "want a number from 100 to 10000000, got %d", r.MaxKeys)
	}
}
