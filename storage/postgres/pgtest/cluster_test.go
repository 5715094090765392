//go:build unix

package pgtest

import (
	"context"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// closedPortDSN is a server URL at a loopback port nothing listens on.
func closedPortDSN(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "postgres://postgres@" + addr + "/test?sslmode=disable"
}

// TestPrivateClusterWhenNoneAnswers: with BROKER_TEST_POSTGRES unset and
// nothing at the default address, DSN gives a working database anyway,
// from a private cluster.
func TestPrivateClusterWhenNoneAnswers(t *testing.T) {
	closed := closedPortDSN(t)
	t.Setenv(EnvDSN, "")
	t.Setenv(EnvSkip, "")
	t.Setenv(EnvDefault, closed)
	dsn := DSN(t)
	if closedAddr := strings.Split(strings.Split(closed, "@")[1], "/")[0]; strings.Contains(dsn, closedAddr) {
		t.Fatalf("DSN = %s, at the closed default address", dsn)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to %s: %v", dsn, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE TABLE t (x int); INSERT INTO t VALUES (1)"); err != nil {
		t.Fatalf("use the private database: %v", err)
	}
	if chosen.private == nil {
		t.Fatal("no private cluster was started")
	}
}

// TestClusterRemovedAfter: a private cluster's server stops and its
// directory goes when it is closed (the reaper does the same when the
// test process ends without closing it).
func TestClusterRemovedAfter(t *testing.T) {
	c, err := startCluster()
	if err != nil {
		t.Fatalf("startCluster: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.dsn)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	conn.Close(ctx)
	c.Close()
	if _, err := os.Stat(c.dir); !os.IsNotExist(err) {
		t.Errorf("cluster directory %s still there after Close (%v)", c.dir, err)
	}
	if conn, err := pgx.Connect(ctx, c.dsn); err == nil {
		conn.Close(ctx)
		t.Errorf("the private server still answers after Close")
	}
}
