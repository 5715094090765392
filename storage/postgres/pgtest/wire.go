package pgtest

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"sync"
	"testing"
)

// Wire forwards TCP connections to the test server, as Proxy does, and
// reads what the clients send (the frontend half of PostgreSQL's wire
// protocol) to tell how many round trips and statements they made: each
// Sync, or each simple Query, ends a round trip (the client waits for the
// server's answer), and each Execute or simple Query is a statement.
// Tests count what one request costs the database with it.
type Wire struct {
	dsn    string
	target string
	ln     net.Listener

	mu    sync.Mutex
	trips []Trip
	conns []net.Conn
	next  int // connection numbers
	wg    sync.WaitGroup
}

// Trip is one round trip: the statements a connection sent before waiting
// for the server. A statement prepared (parsed) in the trip appears as
// "PREPARE " and its SQL; a batch's statements appear in order.
type Trip struct {
	Conn       int
	Statements []string
}

// NewWire starts a counting proxy in front of the server dsn names;
// DSN() is the same URL through it. It is closed when t ends.
func NewWire(t testing.TB, dsn string) *Wire {
	t.Helper()
	ln, target, proxied := listenFor(t, dsn)
	w := &Wire{target: target, ln: ln, dsn: proxied}
	w.wg.Go(w.accept)
	t.Cleanup(w.close)
	return w
}

// DSN is the database URL through the proxy.
func (w *Wire) DSN() string { return w.dsn }

// Mark is a point in the log of round trips, for Since.
func (w *Wire) Mark() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.trips)
}

// Since returns the round trips completed since mark, in order.
func (w *Wire) Since(mark int) []Trip {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]Trip(nil), w.trips[mark:]...)
}

func (w *Wire) accept() {
	for {
		c, err := w.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", w.target)
		if err != nil {
			c.Close()
			continue
		}
		w.mu.Lock()
		w.conns = append(w.conns, c, up)
		w.next++
		n := w.next
		w.mu.Unlock()
		w.wg.Go(func() {
			_, _ = io.Copy(c, up)
			c.Close()
		})
		w.wg.Go(func() {
			w.frontend(n, c, up)
			up.Close()
		})
	}
}

func (w *Wire) close() {
	w.ln.Close()
	w.mu.Lock()
	for _, c := range w.conns {
		c.Close()
	}
	w.mu.Unlock()
	w.wg.Wait()
}

// Startup-phase request codes that the server answers with one byte,
// after which the client sends its startup message again.
const (
	sslRequest    = 80877103
	gssencRequest = 80877104
)

// frontend forwards what client sends to server, reading it message by
// message.
func (w *Wire) frontend(conn int, client io.Reader, server io.Writer) {
	r := bufio.NewReader(client)
	// The startup phase: messages without a type byte.
	for {
		var hdr [8]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint32(hdr[:4]))
		if n < 8 {
			return
		}
		body := make([]byte, n-8)
		if _, err := io.ReadFull(r, body); err != nil {
			return
		}
		if _, err := server.Write(append(hdr[:], body...)); err != nil {
			return
		}
		if code := binary.BigEndian.Uint32(hdr[4:]); code != sslRequest && code != gssencRequest {
			break
		}
	}
	prepared := map[string]string{} // statement name -> SQL
	var bound string                // the SQL of the last Bind
	var pending []string
	for {
		var hdr [5]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint32(hdr[1:]))
		if n < 4 {
			return
		}
		body := make([]byte, n-4)
		if _, err := io.ReadFull(r, body); err != nil {
			return
		}
		if _, err := server.Write(append(hdr[:], body...)); err != nil {
			return
		}
		switch hdr[0] {
		case 'Q': // simple query: a statement and a round trip
			pending = append(pending, cstring(body, 0))
			w.trip(conn, pending)
			pending = nil
		case 'P': // Parse: name, query
			name := cstring(body, 0)
			sql := cstring(body, len(name)+1)
			prepared[name] = sql
			pending = append(pending, "PREPARE "+sql)
		case 'B': // Bind: portal, statement
			portal := cstring(body, 0)
			bound = prepared[cstring(body, len(portal)+1)]
		case 'E': // Execute
			pending = append(pending, bound)
		case 'S': // Sync: the client waits
			w.trip(conn, pending)
			pending = nil
		}
	}
}

func (w *Wire) trip(conn int, statements []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.trips = append(w.trips, Trip{Conn: conn, Statements: statements})
}

// cstring is the NUL-terminated string at b[i:].
func cstring(b []byte, i int) string {
	if i >= len(b) {
		return ""
	}
	b = b[i:]
	if j := bytes.IndexByte(b, 0); j >= 0 {
		b = b[:j]
	}
	return string(b)
}
