package dnstest_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"testing"

	"github.com/socialbroker/broker/internal/domains/dnstest"
)

func TestServerAnswersAddresses(t *testing.T) {
	dns := dnstest.Start(t)
	want := []netip.Addr{netip.MustParseAddr("10.1.2.3"), netip.MustParseAddr("fd00::1")}
	for _, ip := range want {
		dns.AddIP("Host.Test", ip)
	}
	got, err := dns.Resolver().LookupNetIP(context.Background(), "ip", "host.test.")
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(got, netip.Addr.Compare)
	if !slices.Equal(got, want) {
		t.Errorf("LookupNetIP = %v, want %v", got, want)
	}
	dns.Remove("host.test")
	_, err = dns.Resolver().LookupNetIP(context.Background(), "ip", "host.test.")
	var dnsErr *net.DNSError
	if !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
		t.Errorf("after Remove: err = %v, want not found", err)
	}
}

// TestServerOverTCP: a client that asks over TCP from the start is
// answered on the same port.
func TestServerOverTCP(t *testing.T) {
	dns := dnstest.Start(t)
	dns.AddTXT("t.test", "hello")
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", dns.Addr)
	}}
	got, err := r.LookupTXT(context.Background(), "t.test.")
	if err != nil || !slices.Equal(got, []string{"hello"}) {
		t.Errorf("LookupTXT over TCP = %v, %v; want [hello]", got, err)
	}
}
