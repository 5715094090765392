package httpx

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
)

// Request framing. A request with both Content-Length and
// Transfer-Encoding is framed one way by a proxy that reads the length
// and another way by a server that reads the chunks: the bytes between
// the two ends are a second request the proxy never saw (request
// smuggling, RFC 9112 §11.2). RFC 9112 §6.1: a server MAY reject such a
// request and MUST close the connection after answering it.
//
// net/http frames such a request by its chunks and deletes the
// Content-Length header before the handler runs (transfer.go, fixLength),
// so the handler alone cannot tell. GuardFraming therefore watches the
// bytes the server reads from each connection, as far as it can frame
// them exactly: header sections, and bodies of a Content-Length. It stops
// at the first request with a Transfer-Encoding or a header it does not
// follow; the handler answers that request 400 if it also had a
// Content-Length, and in any case closes the connection after it, so no
// byte after a chunked body is ever read as a request.

// GuardFraming applies the above to srv for the connections of l, which
// it returns wrapped: serve srv on the returned listener. It sets
// srv.Handler, srv.ConnContext and srv.DisableGeneralOptionsHandler (so
// that every request, even "OPTIONS *", reaches the handler and is
// counted).
func GuardFraming(srv *http.Server, l net.Listener, log *slog.Logger) net.Listener {
	next, connContext := srv.Handler, srv.ConnContext
	srv.DisableGeneralOptionsHandler = true
	srv.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		if connContext != nil {
			ctx = connContext(ctx, c)
		}
		if fc, ok := c.(*framedConn); ok {
			ctx = context.WithValue(ctx, framingKey{}, &fc.framing)
		}
		return ctx
	}
	srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f, ok := r.Context().Value(framingKey{}).(*framing)
		if !ok { // a connection not from l: nothing watched it
			w.Header().Set("Connection", "close")
			next.ServeHTTP(w, r)
			return
		}
		ambiguous, last := f.served()
		if last {
			w.Header().Set("Connection", "close")
		}
		if !ambiguous {
			next.ServeHTTP(w, r)
			return
		}
		log.Warn("request refused: both Content-Length and Transfer-Encoding", "remote", r.RemoteAddr, "method", r.Method, "path", r.URL.Path)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":"invalid_request","error_description":"a request must not carry both Content-Length and Transfer-Encoding"}`))
	})
	return framingListener{l}
}

type framingKey struct{}

type framingListener struct{ net.Listener }

func (l framingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &framedConn{Conn: c}, nil
}

// framedConn passes every byte read to its framing.
type framedConn struct {
	net.Conn
	framing framing
}

func (c *framedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.framing.scan(p[:n])
	return n, err
}

// CloseWrite lets net/http half-close the connection before it closes it
// (as it does for a *net.TCPConn), so that a client still sending, say a
// smuggled request, reads the answer before the connection is reset.
func (c *framedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// maxFieldPrefix is how much of a header line is kept: enough for the
// names looked for and any Content-Length net/http would accept.
const maxFieldPrefix = 128

// framing follows one connection's requests. The server reads them in
// order (on its own goroutine, and on a background one while a handler
// runs), and the handler of the n-th request asks about the n-th header
// section; the mutex orders the two.
type framing struct {
	mu sync.Mutex

	line     []byte // the current line, at most maxFieldPrefix bytes of it
	long     bool   // the current line is longer than line
	inHeader bool   // past the request line, before the blank line
	skip     uint64 // body bytes of a Content-Length still to come

	// The header section being read: whether it has a Content-Length
	// (and its value), a Transfer-Encoding, a Content-Length the framing
	// cannot read for sure (long, folded, or two values), and whether the
	// last field was a Content-Length (which a folded line would extend).
	hasLength, hasTE, badLength, lastLength bool
	length                                  string

	sections int // header sections read
	handled  int // requests handed to the handler
	// Once stopped, stopAt is the first request the framing could not
	// follow past; ambiguous says it had both Content-Length and
	// Transfer-Encoding.
	stopAt    int
	ambiguous bool
	stopped   bool
}

// served counts a request handed to the handler and tells whether it is
// to be refused as ambiguous and whether it is the last on its connection.
func (f *framing) served() (ambiguous, last bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.handled
	f.handled++
	switch {
	case f.stopped && n >= f.stopAt:
		return n == f.stopAt && f.ambiguous, true
	case n >= f.sections:
		// A request the framing did not see begin: never expected, and
		// not trusted to be followed by one it could frame.
		return false, true
	}
	return false, false
}

// scan follows p, the next bytes the server read.
func (f *framing) scan(p []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for len(p) > 0 && !f.stopped {
		if f.skip > 0 {
			n := min(uint64(len(p)), f.skip)
			f.skip -= n
			p = p[n:]
			continue
		}
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			f.add(p)
			return
		}
		f.add(p[:i])
		p = p[i+1:]
		f.endLine()
	}
}

func (f *framing) add(b []byte) {
	if room := maxFieldPrefix - len(f.line); len(b) > room {
		b, f.long = b[:room], true
	}
	f.line = append(f.line, b...)
}

// endLine takes a line as net/http's reader does (bufio.Reader.ReadLine:
// ended by "\n", one "\r" before it dropped).
func (f *framing) endLine() {
	line := bytes.TrimSuffix(f.line, []byte("\r"))
	empty := len(line) == 0 && !f.long
	defer func() { f.line, f.long = f.line[:0], false }()
	if !f.inHeader {
		// The request line. Blank lines before one are skipped (net/http
		// skips a few after a POST; otherwise it refuses the request and
		// closes the connection, and nothing after matters).
		if !empty {
			f.inHeader = true
			f.hasLength, f.hasTE, f.badLength, f.lastLength, f.length = false, false, false, false, ""
		}
		return
	}
	if empty {
		f.endHeader()
		return
	}
	if line[0] == ' ' || line[0] == '\t' {
		// An obsolete line folding (RFC 9112 §5.2), which net/http joins
		// to the field before: a folded Content-Length is not trusted.
		f.badLength = f.badLength || f.lastLength
		return
	}
	name, value, _ := bytes.Cut(line, []byte(":"))
	f.lastLength = bytes.EqualFold(name, []byte("Content-Length"))
	switch {
	case f.lastLength:
		// net/http accepts repeated Content-Length fields of one value.
		v := string(bytes.Trim(value, " \t"))
		f.badLength = f.badLength || f.long || (f.hasLength && v != f.length)
		f.hasLength, f.length = true, v
	case bytes.EqualFold(name, []byte("Transfer-Encoding")):
		f.hasTE = true
	}
}

// endHeader ends a header section: the framing skips its body when a
// Content-Length frames it, and stops at anything else that has a body.
func (f *framing) endHeader() {
	f.inHeader = false
	n := f.sections
	f.sections++
	switch {
	case f.hasTE:
		f.stop(n, f.hasLength)
	case f.badLength:
		f.stop(n, false)
	case f.hasLength:
		size, err := strconv.ParseUint(f.length, 10, 63) // as net/http parses it
		if err != nil {
			f.stop(n, false)
			return
		}
		f.skip = size
	}
}

func (f *framing) stop(request int, ambiguous bool) {
	f.stopped, f.stopAt, f.ambiguous = true, request, ambiguous
}
