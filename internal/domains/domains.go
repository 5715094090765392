package domains

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/socialbroker/broker/internal/email"
)

// txtPrefix is the label under which a domain publishes its token. An
// underscore label cannot be a host name, so it collides with nothing a
// domain already publishes (RFC 8552 §1.1).
const txtPrefix = "_broker-verify."

// tokenPrefix starts every token, so that the record says what it is for
// among a domain's other TXT records.
const tokenPrefix = "broker-verify="

// DefaultTimeout bounds one verification when Verifier.Timeout is zero.
const DefaultTimeout = 5 * time.Second

// TXTName is the name whose TXT record proves control of domain.
func TXTName(domain string) string {
	return txtPrefix + domain
}

// NewToken returns a new verification token: 160 random bits, which no
// one can guess before the broker shows them.
func NewToken() string {
	b := make([]byte, 20)
	rand.Read(b) // never fails (crypto/rand)
	return tokenPrefix + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// Verifier looks verification records up.
type Verifier struct {
	// Resolver is the DNS server asked (host:port, admin.dns_resolver);
	// "" asks the system's.
	Resolver string
	// Timeout bounds one verification; zero means DefaultTimeout.
	Timeout time.Duration
}

// Verify reports whether domain publishes want in a TXT record at
// TXTName(domain). A domain without that record (NXDOMAIN, or no TXT
// there) answers false; a lookup that could not be completed (a server
// down, SERVFAIL, a timeout) is an error, since it proves nothing either
// way.
func (v Verifier) Verify(ctx context.Context, domain, want string) (bool, error) {
	d, ok := email.Domain(domain)
	if !ok {
		return false, fmt.Errorf("domains: %q is not a domain name", domain)
	}
	if want == "" {
		return false, fmt.Errorf("domains: no token to look for")
	}
	timeout := v.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	name := TXTName(strings.TrimSuffix(d, "."))
	// Rooted (trailing dot), so that the resolver's search list never
	// turns the question into one about another domain.
	txts, err := Resolver(v.Resolver).LookupTXT(ctx, name+".")
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return false, nil
	case err != nil:
		return false, fmt.Errorf("domains: look up %s: %w", name, err)
	}
	return slices.Contains(txts, want), nil
}

// Resolver is a resolver asking only server (host:port), with Go's own
// DNS client; the system's when server is "".
func Resolver(server string) *net.Resolver {
	if server == "" {
		return net.DefaultResolver
	}
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, server)
	}}
}
