//go:build unix

package postgres

import (
	"crypto/tls"
	"errors"
	"net"
	"syscall"
)

// serverClosed reports whether the peer of an idle connection has closed
// it or written to it unasked, with one non-blocking read of the socket
// (Go's sockets are non-blocking; returning true from the callback keeps
// Read from waiting for readiness). A byte it reads is lost, which does not
// matter: the connection is then discarded.
func serverClosed(c net.Conn) bool {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	closed := false
	err = raw.Read(func(fd uintptr) bool {
		var b [1]byte
		n, err := syscall.Read(int(fd), b[:])
		closed = n > 0 || // unasked data: on an idle connection, the server's farewell
			(n == 0 && err == nil) || // end of stream
			(err != nil && !errors.Is(err, syscall.EAGAIN)) // reset, or worse
		return true
	})
	return closed || err != nil
}
