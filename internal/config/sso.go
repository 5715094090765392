package config

import (
	"net/url"
	"strconv"
	"strings"
	"time"
)

// SSO is the [sso] table: the broker's own browser session, which lets a
// user signed in to one app sign in to the next without a new trip
// upstream.
type SSO struct {
	// Enabled: false keeps no broker session; every sign-in goes
	// upstream and prompt=none always answers login_required.
	Enabled bool `toml:"enabled"`
	// IdleTTL: a broker session unused this long is dead.
	IdleTTL Duration `toml:"idle_ttl"`
	// MaxTTL: a broker session this long after the last trip upstream
	// is dead, whatever its use.
	MaxTTL Duration `toml:"max_ttl"`
}

// Defaults of [sso].
const (
	DefaultSSOIdleTTL = 8 * time.Hour
	DefaultSSOMaxTTL  = 24 * time.Hour
)

func defaultSSO() SSO {
	return SSO{Enabled: true, IdleTTL: Duration{DefaultSSOIdleTTL}, MaxTTL: Duration{DefaultSSOMaxTTL}}
}

func validateSSO(s *SSO, ps *problems) {
	if s.IdleTTL.Duration <= 0 {
		ps.add("sso.idle_ttl", "must be positive")
	}
	if s.MaxTTL.Duration <= 0 {
		ps.add("sso.max_ttl", "must be positive")
	} else if s.IdleTTL.Duration > s.MaxTTL.Duration {
		ps.add("sso.idle_ttl", "is longer than sso.max_ttl (%s), which would cut it short", s.MaxTTL.Duration)
	}
}

// validateBackchannel checks a tenant's backchannel_logout_uri (a part of
// ValidateTenant).
func validateBackchannel(t *Tenant, ps *problems) {
	if t.BackchannelLogoutURI == "" {
		return
	}
	if msg := checkBackchannelURI(t.BackchannelLogoutURI); msg != "" {
		ps.add("backchannel_logout_uri", "%s", msg)
	}
}

// checkBackchannelURI applies OIDC Back-Channel Logout 1.0 §2.2: an
// absolute URL, which may have a query but no fragment. The broker sends
// logout tokens, which end sessions, to it: https only, but for loopback
// hosts (an app on the broker's machine, or development).
func checkBackchannelURI(s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "not a URL"
	case u.Scheme != "https" && u.Scheme != "http":
		return "want an absolute https:// URL, got " + strconv.Quote(s)
	case u.Host == "":
		return "URL has no host: " + strconv.Quote(s)
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		return "http is only allowed for localhost, 127.0.0.1 and [::1]: use https"
	case u.User != nil:
		return "URL must not contain user:password@"
	case strings.Contains(s, "#"):
		return "URL must not have a fragment (#...) (Back-Channel Logout §2.2)"
	}
	return ""
}
