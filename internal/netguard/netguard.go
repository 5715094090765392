package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	"golang.org/x/net/idna"
)

// ErrForbidden is wrapped by every refusal of an address.
var ErrForbidden = errors.New("netguard: address not allowed")

// Refused ranges: IANA's IPv4 and IPv6 special-purpose address registries
// (RFC 6890), less what a public upstream can legitimately sit on. Earlier
// entries win, so the most specific come first and name the reason.
var refused = []struct {
	prefix netip.Prefix
	what   string
}{
	// Cloud metadata services hand out credentials to whoever asks.
	{netip.MustParsePrefix("169.254.169.254/32"), "a cloud metadata address"},
	{netip.MustParsePrefix("100.100.100.200/32"), "a cloud metadata address"}, // Alibaba Cloud
	{netip.MustParsePrefix("fd00:ec2::254/128"), "a cloud metadata address"},  // AWS over IPv6

	{netip.MustParsePrefix("0.0.0.0/8"), "an unspecified (\"this network\") address"},
	{netip.MustParsePrefix("10.0.0.0/8"), "a private address (RFC 1918)"},
	{netip.MustParsePrefix("100.64.0.0/10"), "a shared (CGNAT) address (RFC 6598)"},
	{netip.MustParsePrefix("127.0.0.0/8"), "a loopback address"},
	{netip.MustParsePrefix("169.254.0.0/16"), "a link-local address"},
	{netip.MustParsePrefix("172.16.0.0/12"), "a private address (RFC 1918)"},
	{netip.MustParsePrefix("192.0.0.0/24"), "an IETF protocol assignment"},
	{netip.MustParsePrefix("192.0.2.0/24"), "a documentation address"},
	{netip.MustParsePrefix("192.168.0.0/16"), "a private address (RFC 1918)"},
	{netip.MustParsePrefix("198.18.0.0/15"), "a benchmarking address"},
	{netip.MustParsePrefix("198.51.100.0/24"), "a documentation address"},
	{netip.MustParsePrefix("203.0.113.0/24"), "a documentation address"},
	{netip.MustParsePrefix("224.0.0.0/4"), "a multicast address"},
	{netip.MustParsePrefix("240.0.0.0/4"), "a reserved or broadcast address"},

	{netip.MustParsePrefix("::/128"), "the unspecified address"},
	{netip.MustParsePrefix("::1/128"), "a loopback address"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "a local-use NAT64 address (RFC 8215)"},
	// The rest of ::/8 holds the deprecated IPv4-compatible (::a.b.c.d)
	// and SIIT forms, which some stacks still route to the IPv4 address.
	{netip.MustParsePrefix("::/8"), "a reserved IPv6 address"},
	{netip.MustParsePrefix("100::/64"), "a discard-only address"},
	// Teredo hides its IPv4 addresses (obfuscated); no upstream needs it.
	{netip.MustParsePrefix("2001::/32"), "a Teredo address"},
	{netip.MustParsePrefix("2001:db8::/32"), "a documentation address"},
	{netip.MustParsePrefix("fc00::/7"), "a private (unique local) address (RFC 4193)"},
	{netip.MustParsePrefix("fe80::/10"), "a link-local address"},
	{netip.MustParsePrefix("fec0::/10"), "a site-local address"},
	{netip.MustParsePrefix("ff00::/8"), "a multicast address"},
}

// Prefixes of IPv6 forms that carry an IPv4 address, judged by that address.
var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96") // RFC 6052: the last 32 bits
	sixToFour = netip.MustParsePrefix("2002::/16")    // RFC 3056: bits 16 to 48
)

// Allowed reports whether ip may be connected to.
func Allowed(ip netip.Addr) bool {
	return refusal(ip) == ""
}

// refusal says what forbidden kind of address ip is, or "" when it is
// allowed.
func refusal(ip netip.Addr) string {
	if !ip.IsValid() {
		return "not an address"
	}
	ip = ip.WithZone("").Unmap() // ::ffff:127.0.0.1 is 127.0.0.1
	if ip.Is6() {
		b := ip.As16()
		var embedded netip.Addr
		switch {
		case nat64.Contains(ip):
			embedded = netip.AddrFrom4([4]byte(b[12:16]))
		case sixToFour.Contains(ip):
			embedded = netip.AddrFrom4([4]byte(b[2:6]))
		}
		if embedded.IsValid() {
			if why := refusal(embedded); why != "" {
				return why + ", in an IPv6 form"
			}
			return ""
		}
	}
	for _, r := range refused {
		if r.prefix.Contains(ip) {
			return r.what
		}
	}
	return ""
}

// CheckURL judges a connection's URL (its issuer, discovery, token or
// userinfo URL). Any error means the URL must be refused; ErrForbidden is
// wrapped when the host is or resolves to a forbidden address, checked
// for every address the name resolves to, through resolver (nil: the
// system's). The URL must be https: a connection sends its client secret
// to its token endpoint. With allowPrivate
// (admin.allow_private_networks), addresses are not checked and http is
// allowed; the host must be well-formed either way.
func CheckURL(ctx context.Context, rawURL string, allowPrivate bool, resolver *net.Resolver) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("netguard: %w", err)
	}
	switch {
	case u.Scheme != "https" && !(u.Scheme == "http" && allowPrivate):
		return fmt.Errorf("netguard: %q is not an https URL", rawURL)
	case u.Opaque != "" || u.Host == "":
		return fmt.Errorf("netguard: %q names no host", rawURL)
	case u.User != nil:
		// "https://trusted.example@10.0.0.1/" reads as one host to a
		// person and as another to the client.
		return fmt.Errorf("netguard: %q carries user information", rawURL)
	}
	name, ip, err := parseHost(u)
	if err != nil {
		return err
	}
	if allowPrivate {
		return nil
	}
	if ip.IsValid() {
		if why := refusal(ip); why != "" {
			return fmt.Errorf("%w: %s is %s", ErrForbidden, ip, why)
		}
		return nil
	}
	// RFC 6761 §6.3: localhost names are loopback whatever DNS says.
	if name == "localhost" || strings.HasSuffix(name, ".localhost") {
		return fmt.Errorf("%w: %s is a loopback name", ErrForbidden, name)
	}
	if resolver == nil {
		resolver = net.DefaultResolver
	}
	ips, err := resolver.LookupNetIP(ctx, "ip", name)
	if err != nil {
		return fmt.Errorf("netguard: resolve %s: %w", name, err)
	}
	for _, ip := range ips {
		if why := refusal(ip); why != "" {
			return fmt.Errorf("%w: %s resolves to %s, %s", ErrForbidden, name, ip, why)
		}
	}
	return nil
}

// parseHost reads u's host strictly: an IP literal in its standard form
// (a bracketed IPv6 address or a dotted quad without leading zeros), or a
// DNS name of letters, digits and hyphens whose last label is not a
// number. Resolvers built on inet_aton read 2130706433, 0x7f.1, 0177.0.0.1
// and 127.1 as 127.0.0.1; such hosts are refused rather than guessed at.
// A name is returned in the IDNA ASCII form the HTTP client dials, so
// that full-width digits ("１２７.０.０.１") are judged as what they become.
func parseHost(u *url.URL) (name string, ip netip.Addr, err error) {
	host := u.Hostname()
	if strings.HasPrefix(u.Host, "[") {
		ip, err := netip.ParseAddr(host)
		if err != nil || !ip.Is6() {
			return "", netip.Addr{}, fmt.Errorf("netguard: %q is not an IPv6 address", host)
		}
		return "", ip, nil
	}
	a, err := idna.Lookup.ToASCII(host)
	if err != nil {
		return "", netip.Addr{}, fmt.Errorf("netguard: %q is not a valid host name", host)
	}
	a = strings.TrimSuffix(strings.ToLower(a), ".")
	if ip, err := netip.ParseAddr(a); err == nil && ip.Is4() {
		return "", ip, nil
	}
	if !validName(a) {
		return "", netip.Addr{}, fmt.Errorf("netguard: %q is not a valid host name", host)
	}
	return a, netip.Addr{}, nil
}

// validName reports whether name (lower case, no trailing dot) is a host
// name (RFC 1123 §2.1) whose last label is neither decimal nor hex, so no
// resolver can read it as a number.
func validName(name string) bool {
	if name == "" || len(name) > 253 {
		return false
	}
	labels := strings.Split(name, ".")
	for _, l := range labels {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			if c := l[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	last := labels[len(labels)-1]
	if strings.Trim(last, "0123456789") == "" {
		return false
	}
	if hex, ok := strings.CutPrefix(last, "0x"); ok && strings.Trim(hex, "0123456789abcdef") == "" {
		return false
	}
	return true
}

// Control is a net.Dialer Control function that refuses to connect to a
// forbidden address. It sees the address after resolution, the one the
// socket is about to connect to, so no DNS answer given after CheckURL
// can steer it elsewhere.
func Control(network, address string, _ syscall.RawConn) error {
	return control(allowedAddrPort)(network, address, nil)
}

func allowedAddrPort(ap netip.AddrPort) bool { return Allowed(ap.Addr()) }

// control is Control with allowed deciding (tests make one exception).
func control(allowed func(netip.AddrPort) bool) func(string, string, syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("%w: dial %s %q: not an IP address and port", ErrForbidden, network, address)
		}
		if !allowed(ap) {
			return fmt.Errorf("%w: dial %s %s, %s", ErrForbidden, network, ap, refusal(ap.Addr()))
		}
		return nil
	}
}

// Transport is a clone of base (nil: http.DefaultTransport) for the
// upstream calls of runtime connections: unless allowPrivate, every
// connection it opens, redirects' included, is checked by Control.
func Transport(base *http.Transport, allowPrivate bool) *http.Transport {
	if base == nil {
		base = http.DefaultTransport.(*http.Transport)
	}
	t := base.Clone()
	if allowPrivate {
		return t
	}
	return guard(t, nil, allowedAddrPort)
}

// guard makes t dial through a dialer checking each address with allowed,
// resolving names with resolver (nil: the system's).
func guard(t *http.Transport, resolver *net.Resolver, allowed func(netip.AddrPort) bool) *http.Transport {
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Resolver: resolver, Control: control(allowed)}
	t.DialContext = d.DialContext
	// A dialer of base's own would bypass the check; through a proxy the
	// proxy dials the upstream, where no check of ours can see it.
	t.DialTLSContext = nil
	t.Proxy = nil
	return t
}
