// Command bench is the broker's load tool (issue 6). One command, from the
// repository root:
//
//	go run ./bench                      # every scenario, SQLite and PostgreSQL, 10 s each
//	go run ./bench -store sqlite -scenarios check,refresh -duration 5s
//
// It builds the real broker binary (go build ./cmd/broker) and runs it as a
// process of its own on a fresh database, with a generated config.toml
// (rate limits off: the bench is the load). It re-executes itself twice in
// hidden modes: -serve-fake runs the FAKE Google and GitHub upstreams of
// package providertest, -serve-bare a bare Echo handler that only answers
// 200, the ceiling /auth/check is compared with. Each scenario then runs
// for a fixed time at a fixed concurrency, and a Markdown table reports
// the CPU time per operation, requests per second, p50, p99, errors and
// the broker's peak RSS, with where the CPU went. BENCHMARKS.md keeps the latest table.
//
// Files: flags.go the command line; bench.go the run (processes, stores);
// scenario.go what each scenario does; measure.go and load.go the timed
// phases and their statistics; client.go the app and browser requests,
// h1.go the HTTP/1.1 client they go through;
// broker.go, child.go, fake.go, bare.go, pg.go the processes and the
// schema; cpu.go, pgcpu.go, profile.go, report.go what is measured and
// printed (CPU time per operation of the broker and of its PostgreSQL
// backends first); fill.go (-fill) and tenants.go (-tenants) what is in
// the database before the scenarios.
// Two other runs (issue 14) replace the scenarios: soak.go (-soak: a
// mixed load for minutes, sampling RSS, goroutines and open FDs for
// their slopes) and revoked.go (-revoked: a start over many stored
// revocations).
//
// Everything is bounded: the tool stops by itself, and on exit (also on
// Ctrl-C or an error) it stops its children, drops the PostgreSQL schema it
// created and removes its temporary directory. All traffic stays on
// 127.0.0.1.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	// Hidden modes: the processes this tool starts from its own binary.
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case modeFake:
			os.Exit(serveFake(os.Args[2:]))
		case modeBare:
			os.Exit(serveBare(os.Args[2:]))
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		switch {
		case errors.Is(err, flag.ErrHelp):
		case errors.Is(err, context.Canceled):
			fmt.Fprintln(os.Stderr, "bench: interrupted; children stopped, temporary files removed")
		default:
			fmt.Fprintln(os.Stderr, "bench:", err)
		}
		os.Exit(1)
	}
}

// run parses the flags and runs the whole benchmark, cleaning up after
// itself whatever happens.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	opts, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	b := &bench{opts: opts, out: stdout}
	defer b.cleanup()
	return b.run(ctx)
}
