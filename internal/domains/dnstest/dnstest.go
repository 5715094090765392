// Package dnstest is a DNS server for tests: real UDP and TCP on one
// loopback port, answering A, AAAA and TXT questions from records the test
// sets, so that domain verification and the SSRF guard can be driven
// without the network. Point a resolver at it with Server.Addr (what
// admin.dns_resolver takes) or use Server.Resolver.
package dnstest

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/socialbroker/broker/internal/domains"
	"golang.org/x/net/dns/dnsmessage"
)

// maxUDP is the largest answer sent over UDP; a larger one is truncated
// (TC set) so that the client asks again over TCP (RFC 7766 §5). It is
// the size Go's resolver advertises with EDNS(0).
const maxUDP = 1232

// Server answers DNS questions about the names it was given records for:
// NXDOMAIN for any other name, an empty answer for a known name without
// records of the type asked for.
type Server struct {
	// Addr is the host:port both transports listen on.
	Addr string

	udp *net.UDPConn
	tcp *net.TCPListener

	mu     sync.Mutex
	names  map[string]*records
	conns  map[net.Conn]bool // open TCP connections, closed by Close
	closed bool
	wg     sync.WaitGroup
}

type records struct {
	ips      []netip.Addr
	txt      [][]string // each record's character strings
	servfail bool
}

// Start starts a server on 127.0.0.1 that stops when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := listen()
	if err != nil {
		t.Fatalf("dnstest: %v", err)
	}
	s.wg.Add(2)
	go s.serveUDP()
	go s.serveTCP()
	t.Cleanup(s.Close)
	return s
}

// listen binds UDP on a free port, then TCP on the same one (retrying
// when another process holds that port for TCP).
func listen() (*Server, error) {
	var lastErr error
	for range 10 {
		udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			return nil, err
		}
		addr := udp.LocalAddr().(*net.UDPAddr)
		tcp, err := net.ListenTCP("tcp", &net.TCPAddr{IP: addr.IP, Port: addr.Port})
		if err != nil {
			udp.Close()
			lastErr = err
			continue
		}
		return &Server{Addr: addr.String(), udp: udp, tcp: tcp, names: map[string]*records{}, conns: map[net.Conn]bool{}}, nil
	}
	return nil, lastErr
}

// Close stops the server; later questions fail as they do with a server
// that is down.
func (s *Server) Close() {
	s.udp.Close()
	s.tcp.Close()
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// Resolver is a resolver asking only this server.
func (s *Server) Resolver() *net.Resolver {
	return domains.Resolver(s.Addr)
}

// AddIP adds an A (IPv4) or AAAA (IPv6) record for name.
func (s *Server) AddIP(name string, ip netip.Addr) {
	s.with(name, func(r *records) { r.ips = append(r.ips, ip) })
}

// AddTXT adds a TXT record for name made of the character strings strs
// (a resolver joins them into one value); a string longer than 255 bytes
// is split, as the wire format requires (RFC 1035 §3.3).
func (s *Server) AddTXT(name string, strs ...string) {
	var split []string
	for _, v := range strs {
		for len(v) > 255 {
			split = append(split, v[:255])
			v = v[255:]
		}
		split = append(split, v)
	}
	s.with(name, func(r *records) { r.txt = append(r.txt, split) })
}

// Fail makes every question about name answer SERVFAIL.
func (s *Server) Fail(name string) {
	s.with(name, func(r *records) { r.servfail = true })
}

// Remove forgets name: it answers NXDOMAIN again.
func (s *Server) Remove(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.names, key(name))
}

func (s *Server) with(name string, f func(*records)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key(name)
	r := s.names[k]
	if r == nil {
		r = &records{}
		s.names[k] = r
	}
	f(r)
}

// key is name as the map holds it: lower case (DNS names compare without
// case, RFC 4343), with the root's trailing dot.
func key(name string) string {
	return strings.TrimSuffix(strings.ToLower(name), ".") + "."
}

func (s *Server) serveUDP() {
	defer s.wg.Done()
	buf := make([]byte, 65535)
	for {
		n, from, err := s.udp.ReadFromUDP(buf)
		if err != nil {
			return
		}
		if out := s.answer(buf[:n], maxUDP); out != nil {
			s.udp.WriteToUDP(out, from)
		}
	}
}

func (s *Server) serveTCP() {
	defer s.wg.Done()
	for {
		c, err := s.tcp.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed { // accepted just as Close ran
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = true
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			s.serveConn(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			c.Close()
		}()
	}
}

// serveConn answers length-prefixed messages (RFC 1035 §4.2.2) until the
// client closes the connection.
func (s *Server) serveConn(c net.Conn) {
	var size [2]byte
	for {
		if _, err := io.ReadFull(c, size[:]); err != nil {
			return
		}
		msg := make([]byte, binary.BigEndian.Uint16(size[:]))
		if _, err := io.ReadFull(c, msg); err != nil {
			return
		}
		out := s.answer(msg, 65535)
		if out == nil {
			return
		}
		if _, err := c.Write(binary.BigEndian.AppendUint16(nil, uint16(len(out)))); err != nil {
			return
		}
		if _, err := c.Write(out); err != nil {
			return
		}
	}
}

// answer is the reply to the query msg, at most limit bytes (else
// truncated, with TC set); nil for what is not a query.
func (s *Server) answer(msg []byte, limit int) []byte {
	var p dnsmessage.Parser
	h, err := p.Start(msg)
	if err != nil || h.Response {
		return nil
	}
	q, err := p.Question()
	if err != nil {
		return nil
	}
	out, err := s.reply(h, q, false)
	if err == nil && len(out) > limit {
		out, err = s.reply(h, q, true)
	}
	if err != nil {
		return nil
	}
	return out
}

func (s *Server) reply(h dnsmessage.Header, q dnsmessage.Question, truncated bool) ([]byte, error) {
	s.mu.Lock()
	r, known := s.names[key(q.Name.String())]
	var rec records
	if known {
		rec = records{ips: append([]netip.Addr(nil), r.ips...), txt: append([][]string(nil), r.txt...), servfail: r.servfail}
	}
	s.mu.Unlock()

	rh := dnsmessage.Header{
		ID: h.ID, Response: true, OpCode: h.OpCode, Authoritative: true,
		RecursionDesired: h.RecursionDesired, RecursionAvailable: true, Truncated: truncated,
	}
	switch {
	case !known:
		rh.RCode = dnsmessage.RCodeNameError
	case rec.servfail:
		rh.RCode = dnsmessage.RCodeServerFailure
	}
	b := dnsmessage.NewBuilder(nil, rh)
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(q); err != nil {
		return nil, err
	}
	if err := b.StartAnswers(); err != nil {
		return nil, err
	}
	if rh.RCode == dnsmessage.RCodeSuccess && !truncated {
		if err := addAnswers(&b, q, rec); err != nil {
			return nil, err
		}
	}
	return b.Finish()
}

func addAnswers(b *dnsmessage.Builder, q dnsmessage.Question, rec records) error {
	hdr := dnsmessage.ResourceHeader{Name: q.Name, Class: dnsmessage.ClassINET, TTL: 60}
	var errs []error
	switch q.Type {
	case dnsmessage.TypeA:
		for _, ip := range rec.ips {
			if ip.Is4() {
				errs = append(errs, b.AResource(hdr, dnsmessage.AResource{A: ip.As4()}))
			}
		}
	case dnsmessage.TypeAAAA:
		for _, ip := range rec.ips {
			if ip.Is6() {
				errs = append(errs, b.AAAAResource(hdr, dnsmessage.AAAAResource{AAAA: ip.As16()}))
			}
		}
	case dnsmessage.TypeTXT:
		for _, strs := range rec.txt {
			errs = append(errs, b.TXTResource(hdr, dnsmessage.TXTResource{TXT: strs}))
		}
	}
	return errors.Join(errs...)
}
