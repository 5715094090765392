package demo

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"
)

// The demo's own address decides everything its config holds: the
// issuer, the fakes' URLs and the tenants' redirect URIs. Browsers may
// come back over plain http only to a loopback name (RFC 9700 §2.6, which
// the config enforces for redirect URIs), so a plain-http demo lives at
// localhost, 127.0.0.1 or [::1]; from a container or a VM one reaches it
// through a forwarded port (docker run -p, ssh -L, Vagrant, WSL), which
// is also why the fakes are served on the demo's own port.

// errNotLoopback explains, in one sentence, why a plain-http demo cannot
// be opened by a non-loopback name and what to do instead.
var errNotLoopback = errors.New("a plain-http demo can only be opened as localhost, 127.0.0.1 or [::1], " +
	"the only hosts browsers may be sent back to over http (RFC 9700 §2.6): listen on 0.0.0.0 and open it through a forwarded port " +
	"(docker run -p 8080:8080, ssh -L 8080:localhost:8080 HOST) as http://localhost:8080, or put an https tunnel in front and pass its address as --public-url")

// publicURL is the demo's address as browsers reach it: public when
// given, else the host of listen as the user wrote it ("localhost" stays
// "localhost") with the port listened on, and "localhost" for an
// unspecified host (0.0.0.0, [::]): what a forwarded port is opened as.
// Its port is "0" until the listener's is known (port).
func publicURL(listen, public, port string) (*url.URL, error) {
	if public != "" {
		u, err := url.Parse(strings.TrimRight(public, "/"))
		switch {
		case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Path != "" || u.RawQuery != "" || u.User != nil:
			return nil, fmt.Errorf("demo: --public-url %q: want the origin a browser opens, like http://localhost:9000", public)
		case u.Scheme == "http" && !isLoopback(u.Hostname()):
			return nil, fmt.Errorf("demo: --public-url %s: %w", public, errNotLoopback)
		}
		return u, nil
	}
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, fmt.Errorf("demo: --listen %q: %w", listen, err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	if !isLoopback(host) {
		return nil, fmt.Errorf("demo: --listen %s: %w", listen, errNotLoopback)
	}
	return &url.URL{Scheme: "http", Host: net.JoinHostPort(host, port)}, nil
}

// listenAddr is listen as the user wrote it, with the port l got.
func listenAddr(listen string, l net.Listener) string {
	host, _, _ := net.SplitHostPort(listen)
	_, port, _ := net.SplitHostPort(l.Addr().String())
	return net.JoinHostPort(host, port)
}

// isLoopback is the config's notion: the names http redirect URIs may use.
func isLoopback(host string) bool {
	switch strings.ToLower(host) {
	case "localhost", "127.0.0.1", "::1":
		return true
	}
	return false
}

// canonicalHost keeps browsers on the demo's one address. Another
// loopback name for the same port (127.0.0.1 for localhost, or the other
// way round) is redirected there: cookies, redirect URIs and the demo
// page's origin then all agree. Any other name gets a page saying how to
// reach the demo. Behind an https tunnel (a non-loopback public URL) the
// Host a tunnel forwards varies, and nothing is checked.
func canonicalHost(public *url.URL) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if !isLoopback(public.Hostname()) || strings.EqualFold(r.Host, public.Host) {
				return next(c)
			}
			host, port, err := net.SplitHostPort(r.Host)
			if err == nil && isLoopback(host) && port == public.Port() && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
				c.Response().Header().Set("Cache-Control", "no-store")
				return c.Redirect(http.StatusFound, public.String()+r.URL.RequestURI())
			}
			c.Response().Header().Set("X-Content-Type-Options", "nosniff")
			return c.String(http.StatusMisdirectedRequest, fmt.Sprintf(
				"This broker demo answers at %s, not at the address this browser used.\n\nOpen %s/demo/ (through a forwarded port if the demo runs in a container or a VM).\n\nWhy: %v.\n",
				public, public, errNotLoopback))
		}
	}
}

// localTransport sends the broker's own calls to the demo's public
// address (the fakes' token, userinfo and keys endpoints) straight to the
// listener: from inside a container the forwarded port the browser uses
// does not exist, and a tunnel's https address is not where to go. Other
// hosts are refused: the demo needs no network.
type localTransport struct {
	public *url.URL
	dial   string // host:port the listener answers on
	base   http.RoundTripper
}

func newLocalTransport(public *url.URL, l net.Listener) *localTransport {
	addr := l.Addr().(*net.TCPAddr)
	ip := addr.IP
	if ip.IsUnspecified() {
		// 0.0.0.0 and Go's dual-stack [::] both answer on 127.0.0.1.
		ip = net.IPv4(127, 0, 0, 1)
	}
	base := &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 16}
	return &localTransport{public: public, dial: net.JoinHostPort(ip.String(), fmt.Sprint(addr.Port)), base: base}
}

func (t *localTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if !strings.EqualFold(r.URL.Host, t.public.Host) {
		return nil, fmt.Errorf("demo: no network: refusing a call to %s", r.URL.Host)
	}
	r = r.Clone(r.Context())
	r.Host = t.public.Host
	r.URL.Scheme, r.URL.Host = "http", t.dial
	return t.base.RoundTrip(r)
}
