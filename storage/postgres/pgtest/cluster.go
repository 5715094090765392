//go:build unix

package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	osexec "os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// cluster is a private PostgreSQL cluster: initdb and pg_ctl from the
// installed server binaries, in a temporary directory, on a free loopback
// port, with trust authentication and a database "test". A reaper process
// stops it and removes the directory when the test process ends, however
// it ends (a panic, a timeout, Ctrl+C): the cluster outlives no test run.
type cluster struct {
	dir    string
	dsn    string
	reaper *osexec.Cmd
	alive  *os.File // held open while the test process lives; its closing wakes the reaper
}

// clusterStartTimeout bounds initdb and the server's start.
const clusterStartTimeout = 2 * time.Minute

// reaperScript waits for its stdin to close (the test process is gone),
// stops the postmaster of cluster $1 (SIGQUIT: immediate shutdown), waits
// for it and removes $1.
const reaperScript = `cat >/dev/null
pid=$(head -n 1 "$1/data/postmaster.pid" 2>/dev/null)
if [ -n "$pid" ]; then
  kill -QUIT "$pid" 2>/dev/null
  i=0; while kill -0 "$pid" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
fi
rm -rf "$1"`

// startCluster starts a private cluster. It fails when no server binaries
// are installed or they will not run; the error says which.
func startCluster() (_ *cluster, err error) {
	initdb, pgctl, err := serverBinaries()
	if err != nil {
		return nil, err
	}
	cred, err := clusterUser()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "broker-pgtest-")
	if err != nil {
		return nil, err
	}
	c := &cluster{dir: dir}
	defer func() {
		if err != nil {
			c.Close()
		}
	}()
	// The reaper first, so that a failure below leaves nothing behind either.
	if err := c.startReaper(); err != nil {
		return c, err
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return c, err
		}
	}
	port, err := freePort()
	if err != nil {
		return c, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), clusterStartTimeout)
	defer cancel()
	data := filepath.Join(dir, "data")
	if err := c.run(ctx, cred, initdb, "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync"); err != nil {
		return c, err
	}
	// Durability is worth nothing in a throwaway cluster; speed is.
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200", port, dir)
	if err := c.run(ctx, cred, pgctl, "start", "-w", "-t", "60", "-D", data, "-l", filepath.Join(dir, "server.log"), "-o", opts); err != nil {
		if log, rerr := os.ReadFile(filepath.Join(dir, "server.log")); rerr == nil {
			err = fmt.Errorf("%w\n%s", err, log)
		}
		return c, err
	}
	admin := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return c, fmt.Errorf("connect to the private cluster: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE test"); err != nil {
		return c, fmt.Errorf("create database test: %w", err)
	}
	c.dsn = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/test?sslmode=disable", port)
	return c, nil
}

// startReaper starts the process that removes the cluster once this one
// ends. It runs in a session of its own, so that the Ctrl+C that stops the
// tests does not stop it; the read end of a pipe whose write end only this
// process holds (close-on-exec: no child inherits it) is its stdin.
func (c *cluster) startReaper() error {
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	cmd := osexec.Command("/bin/sh", "-c", reaperScript, "pgtest-reaper", c.dir)
	cmd.Stdin = r
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		return fmt.Errorf("start the cluster's reaper: %w", err)
	}
	c.reaper, c.alive = cmd, w
	return nil
}

// run runs a server binary as cred's user (nil: this one).
func (c *cluster) run(ctx context.Context, cred *syscall.Credential, bin string, args ...string) error {
	cmd := osexec.CommandContext(ctx, bin, args...)
	cmd.Dir = c.dir
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s %s: %w\n%s", filepath.Base(bin), args[0], err, out)
	}
	return nil
}

// Close stops the cluster and removes its directory, now rather than
// when the process ends.
func (c *cluster) Close() {
	if c.alive == nil {
		os.RemoveAll(c.dir)
		return
	}
	c.alive.Close()
	c.reaper.Wait()
}

// serverBinaries finds initdb and pg_ctl: on PATH, else the newest of
// Debian's /usr/lib/postgresql/<version>/bin.
func serverBinaries() (initdb, pgctl string, err error) {
	if i, err := osexec.LookPath("initdb"); err == nil {
		if p, err := osexec.LookPath("pg_ctl"); err == nil {
			return i, p, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, d := range dirs {
		i, p := filepath.Join(d, "initdb"), filepath.Join(d, "pg_ctl")
		if isExecutable(i) && isExecutable(p) {
			return i, p, nil
		}
	}
	return "", "", errors.New("no PostgreSQL server binaries (initdb, pg_ctl) on PATH or under /usr/lib/postgresql/*/bin")
}

func version(binDir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	return v
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// clusterUser is who runs the server: this process's user, unless that is
// root, which initdb and postgres refuse; then the postgres user the
// server package creates (else nobody).
func clusterUser() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 == nil && err2 == nil {
			return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
		}
	}
	return nil, errors.New("running as root, and no postgres or nobody user to run the server as")
}

// freePort is a loopback TCP port nothing listens on now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
