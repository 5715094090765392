package httpx

import (
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/labstack/echo/v4"
)

// ClientIP returns the echo.IPExtractor that names the client of a
// request, for rate limits and logs. X-Forwarded-For is believed only when
// the direct peer is one of the trusted proxies, and then only as far as
// it was written by trusted proxies: the answer is the right-most address
// that is not a trusted proxy (every hop appends its own peer, so
// everything left of that is the client's own, forgeable, claim). With no
// trusted proxies, or from any other peer, it is the peer address itself.
// The Forwarded header (RFC 7239) and X-Real-IP are never read.
func ClientIP(trusted []netip.Prefix) echo.IPExtractor {
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	return func(r *http.Request) string {
		peer, ok := parseHop(r.RemoteAddr)
		if !ok {
			host, _, err := net.SplitHostPort(r.RemoteAddr)
			if err != nil {
				return r.RemoteAddr
			}
			return host
		}
		if !isTrusted(peer) {
			return peer.String()
		}
		client := peer
		hops := forwardedFor(r.Header)
		for i := len(hops) - 1; i >= 0; i-- {
			a, ok := parseHop(hops[i])
			if !ok {
				// Garbage written by a trusted hop's peer: stop at the hop
				// that reported it rather than believe anything further left.
				break
			}
			client = a
			if !isTrusted(a) {
				break
			}
		}
		return client.String()
	}
}

// forwardedFor lists the X-Forwarded-For hops of every such header field,
// in order (RFC 9110 §5.3: repeated fields are one comma-separated list).
func forwardedFor(h http.Header) []string {
	var hops []string
	for _, v := range h.Values("X-Forwarded-For") {
		for _, hop := range strings.Split(v, ",") {
			hops = append(hops, strings.TrimSpace(hop))
		}
	}
	return hops
}

// parseHop reads "addr", "addr:port" or "[v6]:port".
func parseHop(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}
