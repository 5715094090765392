package domains_test

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/socialbroker/broker/internal/domains"
	"github.com/socialbroker/broker/internal/domains/dnstest"
)

func TestTXTName(t *testing.T) {
	if got, want := domains.TXTName("acme.test"), "_broker-verify.acme.test"; got != want {
		t.Errorf("TXTName = %q, want %q", got, want)
	}
}

func TestNewToken(t *testing.T) {
	a, b := domains.NewToken(), domains.NewToken()
	if a == b {
		t.Errorf("two tokens are equal: %q", a)
	}
	rest, ok := strings.CutPrefix(a, "broker-verify=")
	if !ok || len(rest) != 32 || strings.Trim(rest, "abcdefghijklmnopqrstuvwxyz234567") != "" {
		t.Errorf("token %q: want broker-verify= and 32 base32 characters", a)
	}
}

func TestVerify(t *testing.T) {
	dns := dnstest.Start(t)
	const token = "broker-verify=abcdefghijklmnopqrstuvwxyz234567"
	dns.AddTXT("_broker-verify.present.test", token)
	dns.AddTXT("_broker-verify.wrong.test", "broker-verify=someoneelse")
	dns.AddTXT("_broker-verify.several.test", "v=spf1 -all")
	dns.AddTXT("_broker-verify.several.test", token)
	dns.AddTXT("_broker-verify.several.test", strings.Repeat("x", 600)) // split into three strings
	dns.AddTXT("_broker-verify.split.test", token[:10], token[10:])     // one record, two strings
	dns.AddTXT("_broker-verify.big.test", token)
	for i := range 30 { // more than fits a UDP answer: asked again over TCP
		dns.AddTXT("_broker-verify.big.test", strings.Repeat(string(rune('a'+i%26)), 100))
	}
	dns.AddIP("_broker-verify.notxt.test", netip.MustParseAddr("192.0.2.1"))
	dns.Fail("_broker-verify.servfail.test")

	v := domains.Verifier{Resolver: dns.Addr}
	for _, tc := range []struct {
		domain  string
		want    bool
		wantErr bool
	}{
		{domain: "present.test", want: true},
		{domain: "PRESENT.test", want: true}, // domains compare without case
		{domain: "several.test", want: true},
		{domain: "split.test", want: true},
		{domain: "big.test", want: true},
		{domain: "wrong.test", want: false},
		{domain: "notxt.test", want: false},
		{domain: "absent.test", want: false}, // NXDOMAIN
		{domain: "servfail.test", wantErr: true},
		{domain: "not a domain", wantErr: true},
	} {
		got, err := v.Verify(context.Background(), tc.domain, token)
		if (err != nil) != tc.wantErr {
			t.Errorf("Verify(%q): err = %v, want error %v", tc.domain, err, tc.wantErr)
			continue
		}
		if got != tc.want {
			t.Errorf("Verify(%q) = %v, want %v", tc.domain, got, tc.want)
		}
	}
}

// TestVerifyEmptyToken: an empty TXT record proves nothing.
func TestVerifyEmptyToken(t *testing.T) {
	dns := dnstest.Start(t)
	dns.AddTXT("_broker-verify.empty.test", "")
	if ok, err := (domains.Verifier{Resolver: dns.Addr}).Verify(context.Background(), "empty.test", ""); err == nil || ok {
		t.Errorf("Verify with no token = %v, %v; want an error", ok, err)
	}
}

// TestVerifyServerDown: a resolver that does not answer proves nothing, so
// the answer is an error, never "not verified".
func TestVerifyServerDown(t *testing.T) {
	dns := dnstest.Start(t)
	dns.AddTXT("_broker-verify.present.test", "broker-verify=x")
	dns.Close()
	v := domains.Verifier{Resolver: dns.Addr, Timeout: 2 * time.Second}
	ok, err := v.Verify(context.Background(), "present.test", "broker-verify=x")
	if err == nil || ok {
		t.Errorf("Verify with the server down = %v, %v; want an error", ok, err)
	}
}

// TestVerifyTimeout: a server that never answers costs at most Timeout.
func TestVerifyTimeout(t *testing.T) {
	silent, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	v := domains.Verifier{Resolver: silent.LocalAddr().String(), Timeout: 200 * time.Millisecond}
	start := time.Now()
	ok, err := v.Verify(context.Background(), "present.test", "broker-verify=x")
	if err == nil || ok {
		t.Errorf("Verify against a silent server = %v, %v; want an error", ok, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Verify took %v with a 200ms timeout", d)
	}
}
