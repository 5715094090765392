package httpx

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	tests := []struct {
		name    string
		trusted []netip.Prefix
		peer    string
		xff     []string
		want    string
	}{
		{"no proxies configured: XFF ignored", nil, "203.0.113.9:4000", []string{"198.51.100.1"}, "203.0.113.9"},
		{"untrusted peer: XFF ignored", trusted, "203.0.113.9:4000", []string{"198.51.100.1"}, "203.0.113.9"},
		{"untrusted peer pretending a chain", trusted, "203.0.113.9:4000", []string{"198.51.100.1, 10.0.0.1"}, "203.0.113.9"},
		{"trusted peer, no XFF", trusted, "10.1.1.1:4000", nil, "10.1.1.1"},
		{"trusted peer: its client", trusted, "10.1.1.1:4000", []string{"198.51.100.1"}, "198.51.100.1"},
		{"spoofed left part ignored", trusted, "10.1.1.1:4000", []string{"1.2.3.4, 198.51.100.1"}, "198.51.100.1"},
		{"chain of trusted proxies", trusted, "10.1.1.1:4000", []string{"1.2.3.4, 198.51.100.1, 10.2.2.2"}, "198.51.100.1"},
		{"repeated header fields are one list", trusted, "10.1.1.1:4000", []string{"1.2.3.4", "198.51.100.1, 10.2.2.2"}, "198.51.100.1"},
		{"all hops trusted: the left-most", trusted, "10.1.1.1:4000", []string{"10.3.3.3, 10.2.2.2"}, "10.3.3.3"},
		{"garbage hop: stop at the hop that reported it", trusted, "10.1.1.1:4000", []string{"198.51.100.1, not-an-ip"}, "10.1.1.1"},
		{"hop with a port", trusted, "10.1.1.1:4000", []string{"198.51.100.1:555"}, "198.51.100.1"},
		{"IPv6 hop", trusted, "[::1]:4000", []string{"[2001:db8::7]:555"}, "2001:db8::7"},
		{"IPv4-mapped IPv6 peer", trusted, "[::ffff:10.1.1.1]:4000", []string{"198.51.100.1"}, "198.51.100.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tt.peer
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			r.Header.Set("X-Real-IP", "192.0.2.66")
			r.Header.Set("Forwarded", "for=192.0.2.66")
			if got := ClientIP(tt.trusted)(r); got != tt.want {
				t.Errorf("ClientIP = %q, want %q", got, tt.want)
			}
		})
	}
}
