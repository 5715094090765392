//go:build !unix

package postgres

import "net"

// serverClosed cannot look at the socket without blocking here; pgxpool's
// own ping of connections idle for over a second remains.
func serverClosed(net.Conn) bool { return false }
