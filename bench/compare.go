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

// -compare: two builds measured one after the other differ by the
// machine's drift between the runs as much as by their code (on a shared
// VM, ±20% from one minute to the next). So the second build runs beside
// the first, on the same database as a second replica would, and every
// scenario loads them in turns, five rounds each (measure), so that a
// change in the machine's speed weighs on both alike. In A's turns B is
// idle but for its background chores, and the other way round, so the
// PostgreSQL backends' CPU of a turn is its broker's.

const labelA, labelB = " (A)", " (B)"

// startCompare starts the -compare broker on dbURL and returns the
// targets: the broker already running as A, the new one as B.
func (b *bench) startCompare(ctx context.Context, label, dbURL string, a *loaded) ([]*loaded, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	issuer := "http://127.0.0.1:" + strconv.Itoa(port)
	cfgPath := filepath.Join(b.dir, "config-compare.toml")
	cfg := brokerConfig(issuer, "127.0.0.1:"+strconv.Itoa(port), dbURL, b.opts.logLevel, b.urls) + claimsTOML(b.opts.claims)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	spec := childSpec{name: "broker B (" + label + ")", logPath: filepath.Join(b.dir, "broker-compare.log"),
		bin: b.opts.compare, args: []string{"serve", "--config", cfgPath}}
	br, ready, err := startBroker(ctx, spec, issuer)
	if err != nil {
		return nil, err
	}
	b.liveB = br
	fmt.Fprintf(b.out, "%s: ready in %s beside A\n", spec.name, fmtDur(ready))
	a.label += labelA
	return []*loaded{a, {label: label + labelB, br: br,
		a: &agent{broker: issuer, users: b.opts.users, apps: &tenantCycle{n: b.opts.tenants}}}}, nil
}

// stopCompare stops the -compare broker, if one runs.
func (b *bench) stopCompare() error {
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
