// Command broker is the social-login broker. Subcommands:
//
//	broker serve --config config.toml   serve
//	broker demo [--listen 127.0.0.1:8080] a self-contained demo with fake upstreams
//	broker check --config config.toml   validate a configuration and exit
//	broker migrate --config config.toml apply database migrations and exit
//	broker version                      print the version and commit
//	broker admin-keys create|list|revoke admin API keys, on the database
//	broker tenants|connections|domains|users|audit ...  admin API clients
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/socialbroker/broker/internal/config"
	"github.com/socialbroker/broker/internal/demo"
	"github.com/socialbroker/broker/internal/server"
)

const usage = `usage: broker <command> [flags]

commands:
  serve --config config.toml    run the broker ([--pprof 127.0.0.1:6060] profiler on loopback)
  demo [--listen host:port]     run a self-contained demo (fake Google and GitHub, no credentials)
       [--public-url URL]       in a container or VM: --listen 0.0.0.0:8080, opened through a forwarded port
       [--access-ttl 2m] [--example-origin http://127.0.0.1:5173]   for clients/js/example
       [--example-b-origin http://127.0.0.1:5174]                  a second copy of it, as another app (single sign-on)
  check --config config.toml    validate a configuration and exit
  migrate --config config.toml  apply database migrations and exit (serve applies them too)
  version                       print the module version and the commit it was built from
  admin-keys create|list|revoke --config config.toml   admin API keys, on the database directly
  tenants|connections|domains|users|audit ...          admin API clients (broker tenants --help)
`

func main() {
	// The first SIGTERM or interrupt ends ctx: serve drains (shutdown_delay)
	// and stops. A second one kills the process at once, as without
	// NotifyContext, for an operator who does not want to wait.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	context.AfterFunc(ctx, stop)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		// --help asked for the usage it got: not a failure.
	case err != nil:
		fmt.Fprintln(os.Stderr, "broker:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("no command given")
	}
	cmd, args := args[0], args[1:]
	switch cmd {
	case "admin-keys":
		return adminKeys(ctx, args, stdout, stderr)
	case "tenants", "connections", "domains", "users", "audit":
		return adminClient(ctx, cmd, args, stdout, stderr)
	}
	fs := flag.NewFlagSet("broker "+cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	switch cmd {
	case "serve", "check", "migrate":
		path := fs.String("config", "config.toml", "path to config.toml")
		pprofAddr := fs.String("pprof", "", "serve: also serve Go's profiler on this loopback address (e.g. 127.0.0.1:6060)")
		if err := fs.Parse(args); err != nil {
			return err
		}
		cfg, err := config.Load(*path, os.Getenv)
		if err != nil {
			return err
		}
		switch cmd {
		case "check":
			fmt.Fprintln(stdout, "configuration is valid")
			return nil
		case "migrate":
			res, err := server.ApplyMigrations(ctx, cfg)
			if err != nil {
				return err
			}
			fmt.Fprintln(stdout, res)
			return nil
		}
		return serve(ctx, cfg, *pprofAddr, stderr)
	case "demo":
		listen := fs.String("listen", "127.0.0.1:8080", "address to listen on (port 0 picks a free one)")
		var opts demo.Options
		fs.DurationVar(&opts.AccessTTL, "access-ttl", 2*time.Minute, "access token lifetime (a few seconds shows refreshes)")
		fs.StringVar(&opts.ExampleOrigin, "example-origin", "", "origin of clients/js/example (default: port 5173 on the demo's host)")
		fs.StringVar(&opts.ExampleOriginB, "example-b-origin", "", "origin of a second copy of clients/js/example, tenant example-b (default: port 5174 on the demo's host)")
		fs.StringVar(&opts.PublicURL, "public-url", "", "the demo's address as the browser opens it, when not the listen address (http://localhost:9000 for a port published as 9000, or an https tunnel's)")
		if err := fs.Parse(args); err != nil {
			return err
		}
		return runDemo(ctx, *listen, opts, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	case "version", "--version":
		printVersion(stdout)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
}

func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	_ = l.UnmarshalText([]byte(level)) // validated by config
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l}))
}

// gcPercent is the broker's GOGC unless the environment sets one. Its
// live heap is small (caches of a few MB) and nearly all its garbage comes
// from requests that end within milliseconds: at Go's default of 100 the
// collector ran every few MB of allocation and took about 6% of the CPU
// under load. 200 halves that for a peak RSS still well under 100 MB (see
// BENCHMARKS.md).
const gcPercent = 200

// memoryLimit is the broker's soft memory limit unless the environment
// sets GOMEMLIMIT ("off" lifts it, "64MiB" lowers it). Under a long full
// load the live heap is about 40 MB, nearly all of it the token service's
// four caches once full, and GOGC=200 lets the Go runtime grow to about
// 120 MB between collections. The limit sits just above that: it costs
// nothing there, and keeps a burst (a mass logout, a flood of distinct
// tokens) from taking the process much past it: the collector works
// harder instead. Lower limits trade CPU for memory: 64 MiB held the
// resident set near 100 MB on SQLite for a fifth more CPU per request
// (BENCHMARKS.md, "Memory under a long full load").
const memoryLimit = 128 << 20

// setRuntimeDefaults applies gcPercent and memoryLimit where the
// environment leaves them to the broker.
func setRuntimeDefaults(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
}

func serve(ctx context.Context, cfg *config.Config, pprofAddr string, stderr io.Writer) error {
	setRuntimeDefaults(os.Getenv)
	log := newLogger(stderr, cfg.LogLevel)
	if pprofAddr != "" {
		if err := servePprof(ctx, pprofAddr, log); err != nil {
			return err
		}
	}
	srv, err := server.New(ctx, cfg, server.Options{Logger: log})
	if err != nil {
		return err
	}
	defer srv.Close()
	l, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	// The listeners of metrics_listen and admin_listen, when set: the
	// broker does not run on without any of them.
	side := []struct {
		key, addr string
		serve     func(context.Context, net.Listener) error
	}{{"metrics_addr", cfg.MetricsListen, srv.ServeMetrics}, {"admin_addr", cfg.AdminListen, srv.ServeAdmin}}
	attrs := []any{"addr", l.Addr().String(), "issuer", cfg.Issuer}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, len(side))
	started := 0
	for _, sd := range side {
		if sd.addr == "" {
			continue
		}
		sl, err := net.Listen("tcp", sd.addr)
		if err != nil {
			l.Close()
			cancel()
			for range started {
				<-done
			}
			return err
		}
		attrs = append(attrs, sd.key, sl.Addr().String())
		started++
		go func() {
			done <- sd.serve(ctx, sl)
			cancel()
		}()
	}
	log.Info("broker listening", attrs...)
	err = srv.Serve(ctx, l)
	cancel()
	errs := []error{err}
	for range started {
		errs = append(errs, <-done)
	}
	return errors.Join(errs...)
}

func runDemo(ctx context.Context, listen string, opts demo.Options, stdout, stderr io.Writer) error {
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	d, err := demo.Start(ctx, listen, log, opts)
	if err != nil {
		return err
	}
	defer d.Close()
	fmt.Fprintf(stdout, "\nBroker demo running. Open %s\n\n", d.URL)
	if !strings.HasPrefix(d.URL, "http://"+d.Listen+"/") {
		fmt.Fprintf(stdout, "  listening on %s; other names for it (a VM's address) are refused: browsers come back over plain http only to localhost,\n  so reach it through a forwarded port, or pass --public-url\n", d.Listen)
	}
	for _, f := range d.FakeURLs() {
		fmt.Fprintf(stdout, "  fake %-10s %s\n", f[0]+":", f[1])
	}
	fmt.Fprintf(stdout, "  (fakes: anyone can sign in as a demo user; nothing here is real)\n")
	fmt.Fprintf(stdout, "  clients/js/example at %s: tenants %q and %q (cookie mode); at %s: tenant %q (a second app)\n\nPress Ctrl+C to stop.\n",
		d.ExampleOrigin, demo.ExampleTenantID, demo.ExampleCookieTenantID, d.ExampleOriginB, demo.ExampleBTenantID)
	return d.Serve(ctx)
}
