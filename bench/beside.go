package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Two figures measured one after the other differ by the machine's drift
// between the runs as much as by what is compared (on a shared VM, ±20% in
// CPU per operation from one minute to the next). So what is compared runs
// at once: a second broker beside the first, and every scenario loads them
// in turns, five rounds each (measure), so that a change in the machine's
// speed weighs on both alike. In one's turns the other is idle but for its
// background chores, so on PostgreSQL the backends' CPU of a turn is its
// broker's. Two uses:
//
//   - -compare: another build, on the same database, as a second replica.
//   - -alternate: the same build on a filled SQLite file, beside the one on
//     an empty file (alternate.go).

// beside is the second broker of a run.
type beside struct {
	label string
	bin   string // "": the same binary as the first
	// sqlitePath: its own SQLite file, filled with fill accounts when it
	// does not exist yet; "": the first broker's database.
	sqlitePath string
	fill       int
}

const labelA, labelB = " (A)", " (B)"

// startBeside starts the second broker, on dbURL (the first's database)
// unless it has a file of its own.
func (b *bench) startBeside(ctx context.Context, bs beside, dbURL string) (*loaded, error) {
	if bs.sqlitePath != "" {
		dbURL = "sqlite:" + bs.sqlitePath
		if _, err := os.Stat(bs.sqlitePath); err != nil && bs.fill > 0 {
			if err := b.fill(ctx, dbURL, bs.fill); err != nil {
				return nil, err
			}
		}
	}
	bin := bs.bin
	if bin == "" {
		bin = b.broker
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	issuer := "http://127.0.0.1:" + strconv.Itoa(port)
	cfgPath := filepath.Join(b.dir, "config-beside.toml")
	cfg := brokerConfig(issuer, "127.0.0.1:"+strconv.Itoa(port), dbURL, b.opts.logLevel, b.urls) + claimsTOML(b.opts.claims)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	spec := childSpec{name: "broker (" + bs.label + ")", logPath: filepath.Join(b.dir, "broker-beside.log"),
		bin: bin, args: []string{"serve", "--config", cfgPath}}
	br, ready, err := startBroker(ctx, spec, issuer)
	if err != nil {
		return nil, err
	}
	b.liveB = br
	fmt.Fprintf(b.out, "%s: ready in %s beside the first\n", spec.name, fmtDur(ready))
	return b.newLoaded(bs.label, br, issuer), nil
}

// stopBeside stops the second broker, if one runs.
func (b *bench) stopBeside() error {
	br := b.liveB
	b.liveB = nil
	if err := br.stop(); err != nil {
		return fmt.Errorf("%s: %w%s", br.name, err, br.logTail())
	}
	return nil
}

// reportCompare prints, for each scenario and store, B's CPU per
// operation against A's.
func (b *bench) reportCompare(w io.Writer) {
	fmt.Fprintf(w, "\nA: %s. B: %s.\n\n", b.version, b.opts.compare)
	fmt.Fprintln(w, "| scenario | store | CPU/op A | CPU/op B | B / A | req/s A → B |")
	fmt.Fprintln(w, "| --- | --- | --: | --: | --: | --- |")
	for _, r := range b.rows {
		store, ok := strings.CutSuffix(r.store, labelA)
		if !ok {
			continue
		}
		rb := b.find(r.scenario, store+labelB)
		if rb == nil {
			continue
		}
		a, b := cpuTotal(r), cpuTotal(*rb)
		ratio := "-"
		if a > 0 && b > 0 {
			ratio = fmtRatio(float64(b) / float64(a))
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %.0f → %.0f |\n", r.scenario, store, fmtDur(a), fmtDur(b), ratio, r.st.rate(), rb.st.rate())
	}
}

// cpuTotal is a row's CPU per operation, the broker's and PostgreSQL's; 0
// if unknown.
func cpuTotal(r row) time.Duration {
	server, pg, ok := r.cpu.perOp(r.st.ok)
	if !ok {
		return 0
	}
	return server + pg
}
