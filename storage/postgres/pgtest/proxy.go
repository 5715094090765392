package pgtest

import (
	"errors"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
)

// Proxy forwards TCP connections to the test server, so a test can take
// the database away without touching the real server, which other tests
// share: Down cuts every connection and refuses new ones (PostgreSQL
// stopped), Up forwards again (PostgreSQL back), Freeze stops forwarding
// while keeping connections open (a network partition), Close ends it.
type Proxy struct {
	dsn    string // the DSN, through the proxy
	target string
	ln     net.Listener

	mu     sync.Mutex
	conns  []net.Conn
	down   bool
	frozen chan struct{} // closed when frozen
	closed chan struct{} // closed when closed
	wg     sync.WaitGroup
}

// NewProxy starts a proxy in front of the server dsn names; DSN() is the
// same URL through the proxy. It is closed when t ends.
func NewProxy(t testing.TB, dsn string) *Proxy {
	t.Helper()
	ln, target, proxied := listenFor(t, dsn)
	p := &Proxy{target: target, ln: ln, dsn: proxied, frozen: make(chan struct{}), closed: make(chan struct{})}
	p.wg.Go(p.accept)
	t.Cleanup(p.Close)
	return p
}

// DSN is the database URL through the proxy.
func (p *Proxy) DSN() string { return p.dsn }

func (p *Proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		down := p.down
		p.mu.Unlock()
		if down {
			c.Close() // connection refused, as by a stopped server
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		if !p.track(c, up) {
			return
		}
		p.wg.Go(func() { p.pipe(up, c) })
		p.wg.Go(func() { p.pipe(c, up) })
	}
}

func (p *Proxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.closed:
		for _, c := range cs {
			c.Close()
		}
		return false
	default:
	}
	p.conns = append(p.conns, cs...)
	return true
}

// pipe copies src to dst until either ends; while frozen, what it reads
// is held back until the proxy closes.
func (p *Proxy) pipe(dst, src net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		select {
		case <-p.frozen:
			<-p.closed
			return
		default:
		}
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				dst.Close()
			}
			return
		}
	}
}

// Down cuts every connection and refuses new ones until Up.
func (p *Proxy) Down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = true
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// Up forwards new connections again.
func (p *Proxy) Up() {
	p.mu.Lock()
	p.down = false
	p.mu.Unlock()
}

// Freeze stops forwarding in both directions; connections stay open.
func (p *Proxy) Freeze() {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.frozen:
	default:
		close(p.frozen)
	}
}

// Close stops listening and cuts every connection.
func (p *Proxy) Close() {
	p.mu.Lock()
	select {
	case <-p.closed:
		p.mu.Unlock()
		return
	default:
	}
	close(p.closed)
	p.ln.Close()
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// listenFor opens a loopback listener for a proxy in front of the server
// dsn names: it returns the listener, the server's address, and dsn
// rewritten to go through the listener.
func listenFor(t testing.TB, dsn string) (ln net.Listener, target, proxied string) {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	target = u.Host
	u.Host = ln.Addr().String()
	return ln, target, u.String()
}
