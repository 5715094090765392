package config

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestRateLimitDefaults(t *testing.T) {
	c, err := Parse([]byte(valid), noEnv)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := RateLimits{
		LoginPerIP: Rate{120, time.Minute}, LoginPerTenant: Rate{6000, time.Minute},
		TokenPerIP: Rate{300, time.Minute}, TokenPerTenant: Rate{6000, time.Minute},
		RefreshPerIP: Rate{300, time.Minute}, RefreshPerTenant: Rate{6000, time.Minute},
		AuthFailuresPerClient: Rate{20, time.Minute},
		MaxKeys:               100_000,
	}
	if got := c.RateLimits; !reflect.DeepEqual(got, want) {
		t.Errorf("rate_limits = %+v, want %+v", got, want)
	}
}

func TestRateLimitValues(t *testing.T) {
	c, err := Parse([]byte(valid+`
[rate_limits]
token_per_ip = "5/s"
token_per_tenant = "0"
login_per_ip = "100/h"
refresh_per_ip = "10/30s"
auth_failures_per_client = "5/h"
max_keys = 1000
`), noEnv)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	r := c.RateLimits
	checks := []struct {
		name      string
		got, want any
	}{
		{"token_per_ip", r.TokenPerIP, Rate{5, time.Second}},
		{"token_per_tenant", r.TokenPerTenant, Rate{}},
		{"token_per_tenant enabled", r.TokenPerTenant.Enabled(), false},
		{"login_per_ip", r.LoginPerIP, Rate{100, time.Hour}},
		{"refresh_per_ip", r.RefreshPerIP, Rate{10, 30 * time.Second}},
		{"refresh_per_ip per second", r.RefreshPerIP.PerSecond(), 10.0 / 30},
		{"refresh_per_tenant (default kept)", r.RefreshPerTenant, DefaultRefreshPerTenant},
		{"auth_failures_per_client", r.AuthFailuresPerClient, Rate{5, time.Hour}},
		{"max_keys", r.MaxKeys, 1000},
	}
	for _, ck := range checks {
		if !reflect.DeepEqual(ck.got, ck.want) {
			t.Errorf("%s = %v, want %v", ck.name, ck.got, ck.want)
		}
	}
}

func TestRateLimitProblems(t *testing.T) {
	tests := []struct {
		table, want string
	}{
		{`token_per_ip = "60"`, `rate_limits.token_per_ip: invalid rate "60"`},
		{`token_per_ip = "60/week"`, `rate_limits.token_per_ip: invalid rate "60/week": the period must be`},
		{`login_per_ip = "-1/m"`, `rate_limits.login_per_ip: invalid rate "-1/m"`},
		{`login_per_ip = "1/-5s"`, `rate_limits.login_per_ip: invalid rate "1/-5s"`},
		{`refresh_per_ip = "10/48h"`, `rate_limits.refresh_per_ip: invalid rate "10/48h": the period must be at most 24h`},
		{`refresh_per_tenant = 60`, `rate_limits.refresh_per_tenant: want a string, got an integer`},
		{`token_per_tenant = "2000000/s"`, `rate_limits.token_per_tenant: at most 1000000 requests per period`},
		{`auth_failures_per_client = "2000000/m"`, `rate_limits.auth_failures_per_client: at most 1000000 requests per period`},
		{`max_keys = 10`, `rate_limits.max_keys: want a number from 100 to 10000000, got 10`},
		{`per_ip = "1/s"`, `rate_limits.per_ip: unknown key`},
	}
	for _, tt := range tests {
		t.Run(tt.table, func(t *testing.T) {
			_, err := Parse([]byte(valid+"\n[rate_limits]\n"+tt.table+"\n"), noEnv)
			ps := problemsOf(t, err)
			if len(ps) != 1 || !strings.HasPrefix(ps[0], tt.want) {
				t.Errorf("problems = %q, want one starting %q", ps, tt.want)
			}
		})
	}
}

func TestRateText(t *testing.T) {
	for _, s := range []string{"0", "5/s", "60/m", "100/h", "10/30s"} {
		var r Rate
		if err := r.UnmarshalText([]byte(s)); err != nil {
			t.Fatalf("UnmarshalText(%q): %v", s, err)
		}
		got, _ := r.MarshalText()
		if string(got) != s {
			t.Errorf("round trip of %q = %q", s, got)
		}
	}
	var r Rate
	if err := r.UnmarshalText([]byte("0/m")); err != nil || r.Enabled() {
		t.Errorf(`"0/m": %+v, %v; want disabled`, r, err)
	}
}
