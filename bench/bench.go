package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"
)

// bench is one run of the tool: its temporary directory, its children,
// and the figures gathered so far.
type bench struct {
	opts *options
	out  io.Writer

	dir     string // temporary: binaries' logs, configs, SQLite files
	self    string // this tool's executable, for the hidden modes
	broker  string // the broker binary
	version string // which source it was built from
	fake    *child
	urls    fakeURLs
	bare    *child // the bare Echo ceiling, when check runs
	bareURL string

	// live is the broker now running and schema the PostgreSQL schema now
	// in use: cleanup stops and drops them if a run ends early.
	live   *brokerProc
	liveB  *brokerProc // -compare's second broker
	schema *pgSchema
	pg     *pgProcs // the PostgreSQL processes working for schema's broker

	machine machine
	rows    []row
	starts  []startRow
}

// row is one line of the table.
type row struct {
	scenario, store string
	workers         int
	st              *stats
	cpu             cpuUse
	ceiling         *row  // check: the bare Echo row measured alongside it
	rss             int64 // the broker's peak during the scenario, bytes; -1 unknown, 0 not applicable
	remeasured      int   // measurements discarded because other processes disturbed them
}

// startRow is one broker's start-to-ready times and peak RSS.
type startRow struct {
	store         string
	cold, restart time.Duration // fresh database; same database again
	highWater     int64         // VmHWM at the end of the run, bytes; -1 unknown
}

func (b *bench) run(ctx context.Context) error {
	var err error
	if b.dir, err = os.MkdirTemp("", "broker-bench-"); err != nil {
		return err
	}
	if b.self, err = os.Executable(); err != nil {
		return err
	}
	b.machine = describeMachine()
	b.machine.print(b.out)

	b.broker, b.version = b.opts.brokerBin, "prebuilt "+b.opts.brokerBin
	if b.broker == "" {
		fmt.Fprintln(b.out, "building ./cmd/broker ...")
		if b.broker, b.version, err = buildBroker(ctx, b.dir); err != nil {
			return err
		}
	}
	fmt.Fprintln(b.out, "broker:", b.version)
	b.fake, err = startChild(childSpec{
		name: "fake upstream", logPath: filepath.Join(b.dir, "fake.log"), printsAddress: true,
		bin: b.self, args: []string{modeFake, "-users", strconv.Itoa(b.opts.users), "-alg", b.opts.fakeAlg},
	})
	if err != nil {
		return err
	}
	if err := b.fake.readJSONLine(&b.urls, 30*time.Second); err != nil {
		return err
	}
	fmt.Fprintf(b.out, "fake upstreams (separate process): google %s, github %s\n", b.urls.Google, b.urls.GitHub)
	fmt.Fprintln(b.out, "CPU: cores used during each measured phase by server (broker or bare echo) / postgres / client (this tool) / fake / other")

	switch {
	case b.opts.soak > 0:
		return b.runSoak(ctx)
	case b.opts.revoked > 0:
		return b.runRevoked(ctx)
	}
	if slices.Contains(b.opts.scenarios, scenarioCheck) {
		if err := b.startBare(); err != nil {
			return err
		}
	}
	for _, store := range b.opts.stores {
		d := database{store: store, label: store, fill: b.opts.fill, sqlitePath: b.opts.fillFile}
		if b.opts.compare != "" {
			d.label += labelA
			d.beside = &beside{label: store + labelB, bin: b.opts.compare}
		}
		run := func() error { return b.runStore(ctx, d) }
		if b.opts.alternate > 0 {
			run = func() error { return b.runAlternating(ctx, store) }
		}
		if err := run(); err != nil {
			return fmt.Errorf("%s: %w", store, err)
		}
	}
	b.report(b.out)
	return nil
}

// cleanup stops every child, drops the schema and removes the temporary
// directory, whatever state the run ended in.
func (b *bench) cleanup() {
	report := func(err error) {
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench: cleanup:", err)
		}
	}
	report(b.live.stop())
	report(b.liveB.stop())
	b.pg.close()
	report(b.schema.drop())
	report(b.bare.stop())
	report(b.fake.stop())
	if b.dir != "" {
		report(os.RemoveAll(b.dir))
	}
}

// startBare starts the bare Echo ceiling in a process of its own.
func (b *bench) startBare() error {
	var err error
	b.bare, err = startChild(childSpec{
		name: "bare echo", logPath: filepath.Join(b.dir, "bare.log"), printsAddress: true,
		bin: b.self, args: []string{modeBare},
	})
	if err != nil {
		return err
	}
	var u bareURL
	if err := b.bare.readJSONLine(&u, 30*time.Second); err != nil {
		return err
	}
	b.bareURL = u.URL + barePath
	return nil
}

// database is what one broker of a run stores into.
type database struct {
	store string // "sqlite" or "postgres"
	label string // the rows' store column
	// sqlitePath is the SQLite file; "" is bench.db in the temporary
	// directory. A file that exists already is used as it is: not filled.
	sqlitePath string
	fill       int     // accounts to store before the scenarios (fill.go)
	beside     *beside // a second broker, loaded in turns with this one (beside.go)
}

// runStore starts a broker on a database (a fresh one, unless d names an
// existing SQLite file) and runs every scenario against it.
func (b *bench) runStore(ctx context.Context, d database) error {
	store := d.store
	existed := false
	if d.sqlitePath != "" {
		_, err := os.Stat(d.sqlitePath)
		existed = err == nil
	}
	spec, issuer, dbURL, err := b.prepareStore(ctx, store, d.sqlitePath)
	if err != nil {
		return err
	}
	pprofURL := ""
	if b.opts.cpuProfile != "" {
		pport, err := freePort()
		if err != nil {
			return err
		}
		addr := "127.0.0.1:" + strconv.Itoa(pport)
		spec.args = append(spec.args, "--pprof", addr)
		pprofURL = "http://" + addr
	}
	name := spec.name

	// Start twice: on the fresh database (migrations, first signing keys),
	// then again on the same one, as a restarted replica would.
	first, cold, err := startBroker(ctx, spec, issuer)
	if err != nil {
		return err
	}
	b.live = first
	err = first.stop()
	b.live = nil
	if err != nil {
		return fmt.Errorf("%s: %w%s", name, err, first.logTail())
	}
	if d.fill > 0 && !existed {
		if err := b.fill(ctx, dbURL, d.fill); err != nil {
			return err
		}
	}
	if b.opts.tenants > 0 {
		if err := b.createTenants(ctx, dbURL, issuer, b.opts.tenants); err != nil {
			return err
		}
	}
	spec.logPath += ".restart"
	br, restart, err := startBroker(ctx, spec, issuer)
	if err != nil {
		return err
	}
	b.live = br
	br.pprofURL = pprofURL
	fmt.Fprintf(b.out, "%s: ready in %s on a fresh database, %s on restart\n", name, fmtDur(cold), fmtDur(restart))

	targets := []*loaded{b.newLoaded(d.label, br, issuer)}
	if d.beside != nil {
		other, err := b.startBeside(ctx, *d.beside, dbURL)
		if err != nil {
			return err
		}
		targets = append(targets, other)
	}
	for _, sc := range b.opts.scenarios {
		if err := b.runScenario(ctx, store, sc, targets); err != nil {
			return err
		}
	}
	if err := b.stopBeside(); err != nil {
		return err
	}
	hwm := br.rss.highWater()
	b.live = nil
	if err := br.stop(); err != nil {
		return fmt.Errorf("%s: %w%s", name, err, br.logTail())
	}
	b.starts = append(b.starts, startRow{store: d.label, cold: cold, restart: restart, highWater: hwm})
	return b.dropSchema()
}

// dropSchema drops the PostgreSQL schema in use, if any.
func (b *bench) dropSchema() error {
	if b.schema == nil {
		return nil
	}
	b.pg.close()
	b.pg = nil
	err := b.schema.drop()
	b.schema = nil
	return err
}

// prepareStore creates a fresh database of store (on SQLite, unless
// sqlitePath names an existing file) and writes the config of a broker on
// it: what to start, its URL, and the database's URL.
func (b *bench) prepareStore(ctx context.Context, store, sqlitePath string) (spec childSpec, issuer, dbURL string, err error) {
	switch store {
	case "sqlite":
		if sqlitePath == "" {
			sqlitePath = filepath.Join(b.dir, "bench.db")
		}
		dbURL = "sqlite:" + sqlitePath
	case "postgres":
		s, err := createSchema(ctx, b.opts.postgres)
		if err != nil {
			return spec, "", "", err
		}
		b.schema = s
		b.machine.postgres = s.version(ctx)
		if b.pg, err = watchPostgres(ctx, b.opts.postgres, s.name); err != nil {
			return spec, "", "", err
		}
		dbURL = s.url
	}
	port, err := freePort()
	if err != nil {
		return spec, "", "", err
	}
	issuer = "http://127.0.0.1:" + strconv.Itoa(port)
	cfgPath := filepath.Join(b.dir, "config-"+store+".toml")
	cfg := brokerConfig(issuer, "127.0.0.1:"+strconv.Itoa(port), dbURL, b.opts.logLevel, b.urls) + claimsTOML(b.opts.claims)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return spec, "", "", err
	}
	spec = childSpec{
		name: "broker (" + store + ")", logPath: filepath.Join(b.dir, "broker-"+store+".log"),
		bin: b.broker, args: []string{"serve", "--config", cfgPath},
	}
	return spec, issuer, dbURL, nil
}

// add records a row and prints it at once, so progress shows.
func (b *bench) add(r row) {
	b.rows = append(b.rows, r)
	fmt.Fprintf(b.out, "  %-20s %-8s %4d workers  CPU/op %s  %8.0f/s  p50 %-8s p99 %-8s errors %d  CPU %s%s",
		r.scenario, r.store, r.workers, r.cpuPerOp(), r.st.rate(), fmtDur(r.st.percentile(50)), fmtDur(r.st.percentile(99)),
		r.st.errors, r.cpu, fmtRSSNote(r.rss))
	if note := b.note(r); note != "" {
		fmt.Fprint(b.out, "  ", note)
	}
	fmt.Fprintln(b.out)
}
