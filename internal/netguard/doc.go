// Package netguard keeps runtime connections (upstreams created through the
// admin API, by whoever holds a key) from turning the broker into a proxy
// into its own network: server-side request forgery. A connection's URLs
// may not name or resolve to loopback, private, link-local, metadata or
// other special-purpose addresses (IANA's special-purpose registries, RFC
// 6890), in whatever spelling: IPv4-mapped and NAT64 IPv6 forms are judged
// by the IPv4 address they carry, and host names that some resolvers read
// as numbers (2130706433, 0x7f.1, 0177.0.0.1) are refused outright.
//
// CheckURL judges a URL when a connection is created or changed. Since a
// name that resolves to a public address today may resolve to 10.0.0.1
// tomorrow (DNS rebinding), Transport repeats the judgement at every
// connection the upstream client opens, on the address actually dialled,
// which covers redirects too. admin.allow_private_networks (tests, a
// broker inside one private network) turns both off.
package netguard
