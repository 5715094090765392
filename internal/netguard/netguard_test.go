package netguard

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/socialbroker/broker/internal/domains/dnstest"
)

func TestAllowed(t *testing.T) {
	for _, tc := range []struct {
		ip   string
		want bool
	}{
		{"8.8.8.8", true},
		{"1.1.1.1", true},
		{"2606:4700:4700::1111", true},
		{"64:ff9b::808:808", true}, // NAT64 form of 8.8.8.8
		{"2002:808:808::1", true},  // 6to4 form of 8.8.8.8
		{"::ffff:8.8.8.8", true},

		{"127.0.0.1", false},
		{"127.255.255.254", false},
		{"0.0.0.0", false},
		{"10.1.2.3", false},
		{"172.16.0.1", false},
		{"172.31.255.255", false},
		{"192.168.1.1", false},
		{"100.64.0.1", false},
		{"100.100.100.200", false},
		{"169.254.169.254", false},
		{"169.254.1.1", false},
		{"224.0.0.1", false},
		{"255.255.255.255", false},
		{"::", false},
		{"::1", false},
		{"::127.0.0.1", false}, // IPv4-compatible
		{"::ffff:127.0.0.1", false},
		{"::ffff:a9fe:a9fe", false}, // 169.254.169.254
		{"::ffff:10.0.0.1", false},
		{"64:ff9b::7f00:1", false},    // NAT64 of 127.0.0.1
		{"64:ff9b::a9fe:a9fe", false}, // NAT64 of 169.254.169.254
		{"64:ff9b:1::1", false},
		{"2002:7f00:1::", false}, // 6to4 of 127.0.0.1
		{"2001::1", false},       // Teredo
		{"fc00::1", false},
		{"fd12:3456::1", false},
		{"fd00:ec2::254", false},
		{"fe80::1", false},
		{"fe80::1%eth0", false},
		{"ff02::1", false},
	} {
		if got := Allowed(netip.MustParseAddr(tc.ip)); got != tc.want {
			t.Errorf("Allowed(%s) = %v, want %v", tc.ip, got, tc.want)
		}
	}
}

// testDNS is a DNS server holding the names the tests resolve.
func testDNS(t *testing.T) *dnstest.Server {
	dns := dnstest.Start(t)
	for name, ips := range map[string][]string{
		"public.test":    {"93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"},
		"internal.test":  {"10.1.2.3"},
		"mixed.test":     {"93.184.215.14", "127.0.0.1"}, // one bad address is enough
		"meta6.test":     {"fd00:ec2::254"},
		"mapped.test":    {"::ffff:a9fe:a9fe"},
		"localhost.test": {"127.0.0.1"},
	} {
		for _, ip := range ips {
			dns.AddIP(name, netip.MustParseAddr(ip))
		}
	}
	return dns
}

func TestCheckURL(t *testing.T) {
	resolver := testDNS(t).Resolver()
	for _, tc := range []struct {
		url          string
		allowPrivate bool
		ok           bool
		forbidden    bool // the error wraps ErrForbidden
	}{
		{url: "https://public.test/.well-known/openid-configuration", ok: true},
		{url: "https://public.test:8443/token", ok: true},
		{url: "https://PUBLIC.test./token", ok: true},
		{url: "https://93.184.215.14/", ok: true},
		{url: "https://[2606:4700:4700::1111]/", ok: true},

		{url: "https://internal.test/", forbidden: true},
		{url: "https://mixed.test/", forbidden: true},
		{url: "https://meta6.test/", forbidden: true},
		{url: "https://mapped.test/", forbidden: true},
		{url: "https://localhost.test/", forbidden: true},
		{url: "https://localhost/", forbidden: true},
		{url: "https://app.localhost/", forbidden: true},
		{url: "https://127.0.0.1/", forbidden: true},
		{url: "https://169.254.169.254/latest/meta-data/", forbidden: true},
		{url: "https://100.100.100.200/", forbidden: true},
		{url: "https://0.0.0.0/", forbidden: true},
		{url: "https://[::1]/", forbidden: true},
		{url: "https://[::]/", forbidden: true},
		{url: "https://[::ffff:127.0.0.1]/", forbidden: true},
		{url: "https://[::ffff:a9fe:a9fe]/", forbidden: true},
		{url: "https://[64:ff9b::a9fe:a9fe]/", forbidden: true},
		{url: "https://[fd00:ec2::254]/", forbidden: true},
		{url: "https://[fe80::1%25eth0]/", forbidden: true},
		{url: "https://１２７.０.０.１/", forbidden: true}, // full-width digits become 127.0.0.1
		{url: "https://127%2E0%2E0%2E1/"},            // url.Parse refuses escapes in a host
		{url: "https://127.0.0.1./", forbidden: true},

		// Numbers some resolvers read as 127.0.0.1: refused as malformed.
		{url: "https://2130706433/"},
		{url: "https://0x7f.1/"},
		{url: "https://0x7f000001/"},
		{url: "https://0177.0.0.1/"},
		{url: "https://127.1/"},
		{url: "https://017700000001/"},
		{url: "https://2130706433/", allowPrivate: true},

		{url: "https://unknown.test/"}, // does not resolve: cannot be judged
		{url: "http://public.test/"},   // a client secret travels there
		{url: "ftp://public.test/"},
		{url: "https://user@public.test/"},
		{url: "https://public.test@10.0.0.1/"},
		{url: "https:///path"},
		{url: "https:public.test"},
		{url: "https://bad_name.test/"},
		{url: "https://-bad.test/"},
		{url: "https://[127.0.0.1]/"},
		{url: ""},

		{url: "http://127.0.0.1:8080/", allowPrivate: true, ok: true},
		{url: "https://internal.test/", allowPrivate: true, ok: true},
		{url: "ftp://127.0.0.1/", allowPrivate: true},
		{url: "http://user@127.0.0.1/", allowPrivate: true},
	} {
		err := CheckURL(context.Background(), tc.url, tc.allowPrivate, resolver)
		if tc.ok {
			if err != nil {
				t.Errorf("CheckURL(%q, allowPrivate=%v) = %v, want nil", tc.url, tc.allowPrivate, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("CheckURL(%q, allowPrivate=%v) = nil, want an error", tc.url, tc.allowPrivate)
			continue
		}
		if got := errors.Is(err, ErrForbidden); got != tc.forbidden {
			t.Errorf("CheckURL(%q): %v; wraps ErrForbidden = %v, want %v", tc.url, err, got, tc.forbidden)
		}
	}
}

// countingServer is a loopback server counting the requests it gets.
func countingServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if h != nil {
			h(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func addrPort(t *testing.T, srv *httptest.Server) netip.AddrPort {
	t.Helper()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return netip.MustParseAddrPort(u.Host)
}

func base() *http.Transport {
	return &http.Transport{DisableKeepAlives: true} // every request dials
}

func TestTransportRefusesLoopback(t *testing.T) {
	srv, hits := countingServer(t, nil)
	guarded := &http.Client{Transport: Transport(base(), false)}
	_, err := guarded.Get(srv.URL)
	if !errors.Is(err, ErrForbidden) {
		t.Errorf("GET %s through the guard: %v, want ErrForbidden", srv.URL, err)
	}
	if hits.Load() != 0 {
		t.Errorf("the loopback server got %d requests, want 0", hits.Load())
	}

	open := &http.Client{Transport: Transport(base(), true)}
	resp, err := open.Get(srv.URL)
	if err != nil {
		t.Fatalf("GET with allowPrivate: %v", err)
	}
	resp.Body.Close()
	if hits.Load() != 1 {
		t.Errorf("with allowPrivate the server got %d requests, want 1", hits.Load())
	}
}

// TestTransportChecksResolvedAddress: a name checked when it was
// harmless is checked again at every connection, so a DNS answer changed
// since (rebinding) cannot lead anywhere forbidden.
func TestTransportChecksResolvedAddress(t *testing.T) {
	srv, hits := countingServer(t, nil)
	ap := addrPort(t, srv)
	dns := testDNS(t)
	dns.AddIP("rebind.test", ap.Addr())
	// 127.0.0.1 on this server's port stands in for a public address.
	allowed := func(got netip.AddrPort) bool { return got == ap || Allowed(got.Addr()) }
	client := &http.Client{Transport: guard(base(), dns.Resolver(), allowed)}
	target := "http://rebind.test:" + strconv.Itoa(int(ap.Port())) + "/"

	resp, err := client.Get(target)
	if err != nil {
		t.Fatalf("GET %s while it resolves to the allowed address: %v", target, err)
	}
	resp.Body.Close()

	dns.Remove("rebind.test")
	dns.AddIP("rebind.test", netip.MustParseAddr("127.0.0.2"))
	if _, err := client.Get(target); !errors.Is(err, ErrForbidden) {
		t.Errorf("GET %s after it rebinds to 127.0.0.2: %v, want ErrForbidden", target, err)
	}

	internal := "http://internal.test:" + strconv.Itoa(int(ap.Port())) + "/"
	if _, err := client.Get(internal); !errors.Is(err, ErrForbidden) {
		t.Errorf("GET %s (10.1.2.3): %v, want ErrForbidden", internal, err)
	}
	if hits.Load() != 1 {
		t.Errorf("server got %d requests, want 1", hits.Load())
	}
}

// TestTransportRefusesRedirectIntoPrivate: an allowed upstream that
// redirects to a private address is not followed there.
func TestTransportRefusesRedirectIntoPrivate(t *testing.T) {
	inside, insideHits := countingServer(t, nil)
	for _, to := range []string{inside.URL + "/secret", "http://169.254.169.254/latest/meta-data/", "http://[::ffff:a9fe:a9fe]/"} {
		t.Run(to, func(t *testing.T) {
			outside, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, to, http.StatusFound)
			})
			allowed := func(got netip.AddrPort) bool { return got == addrPort(t, outside) || Allowed(got.Addr()) }
			client := &http.Client{Transport: guard(base(), nil, allowed)}
			_, err := client.Get(outside.URL)
			if !errors.Is(err, ErrForbidden) {
				t.Errorf("GET redirected to %s: %v, want ErrForbidden", to, err)
			}
		})
	}
	if insideHits.Load() != 0 {
		t.Errorf("the private server got %d requests, want 0", insideHits.Load())
	}
}

// TestTransportDropsProxy: through a proxy, the proxy would dial the
// upstream where the guard cannot see.
func TestTransportDropsProxy(t *testing.T) {
	b := base()
	b.Proxy = func(*http.Request) (*url.URL, error) { return url.Parse("http://proxy.test:3128") }
	b.DialContext = (&net.Dialer{}).DialContext
	if tr := Transport(b, false); tr.Proxy != nil {
		t.Error("the guarded transport keeps the base's proxy")
	}
	if b.Proxy == nil {
		t.Error("Transport changed its base")
	}
}
