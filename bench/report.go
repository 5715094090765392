package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"
)

// machine describes where the run happened, for the report.
type machine struct {
	cpu, kernel, memory string
	cores               int
	goVersion           string
	postgres            string // server version, when PostgreSQL ran
}

func describeMachine() machine {
	m := machine{cpu: "unknown", kernel: "unknown", memory: "unknown", cores: runtime.NumCPU(), goVersion: runtime.Version()}
	if v := procField("/proc/cpuinfo", "model name"); v != "" {
		m.cpu = v
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.kernel = runtime.GOOS + " " + strings.TrimSpace(string(b))
	}
	if v := procField("/proc/meminfo", "MemTotal"); v != "" {
		var kb int64
		if _, err := fmt.Sscanf(v, "%d kB", &kb); err == nil {
			m.memory = fmt.Sprintf("%.1f GB", float64(kb<<10)/1e9)
		}
	}
	return m
}

// procField is the value of the first "key: value" line of a /proc file.
func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func (m machine) print(w io.Writer) {
	fmt.Fprintf(w, "machine: %s, %d cores, %s RAM, %s, %s/%s\n", m.cpu, m.cores, m.memory, m.kernel, m.goVersion, runtime.GOARCH)
}

// report prints the Markdown that BENCHMARKS.md keeps: the machine, the
// table, start times, the targets next to the figures, and
// samples of any errors.
func (b *bench) report(w io.Writer) {
	o := b.opts
	fmt.Fprintf(w, "\n## Results (%s)\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(w, "Machine: %s, %d cores, %s RAM, %s, %s %s/%s", b.machine.cpu, b.machine.cores, b.machine.memory, b.machine.kernel, b.machine.goVersion, runtime.GOOS, runtime.GOARCH)
	if b.machine.postgres != "" {
		fmt.Fprintf(w, ", PostgreSQL %s", b.machine.postgres)
	}
	fmt.Fprintf(w, ". Load generator, fake upstreams and broker share these cores.\n")
	fmt.Fprintf(w, "Broker: %s. Command: `%s`.\n", b.version, strings.Join(append([]string{"go run ./bench"}, o.args...), " "))
	fmt.Fprintf(w, "Each scenario: %s measured after %s warm-up; %d sessions for check and me; %d upstream users; fake OIDC ID tokens %s", o.duration, o.warmup, o.sessions, o.users, o.fakeAlg)
	if o.fill > 0 {
		fmt.Fprintf(w, "; database pre-filled with %d users, sessions and live refresh tokens", o.fill)
	}
	if o.tenants > 0 {
		fmt.Fprintf(w, "; sign-ins spread over %d runtime tenants", o.tenants)
	}
	fmt.Fprint(w, ".\n\n")

	fmt.Fprintln(w, "| scenario | store | workers | CPU/op: server + postgres | req/s | p50 | p99 | errors | broker peak RSS | CPU cores: server / postgres / client / fake / other | note |")
	fmt.Fprintln(w, "| --- | --- | --: | --: | --: | --: | --: | --: | --: | --: | --- |")
	for _, r := range b.rows {
		fmt.Fprintf(w, "| %s | %s | %d | %s | %.0f | %s | %s | %d | %s | %s | %s |\n",
			r.scenario, r.store, r.workers, r.cpuPerOp(), r.st.rate(), fmtDur(r.st.percentile(50)), fmtDur(r.st.percentile(99)),
			r.st.errors, fmtRSS(r.rss), r.cpu, b.note(r))
	}
	fmt.Fprintln(w, "\nCPU/op: the CPU time (user + system, from /proc) the server process (the broker; the bare Echo process in the ceiling row) spent per successful operation during the measured phase, plus on PostgreSQL that of the broker's backends and the server's WAL writer, checkpointer, background writer and autovacuum workers; it moves far less than req/s when other processes share the machine.")
	fmt.Fprintln(w, "CPU cores: where the machine's time went during the measured phase; server is the broker (the bare Echo process in the ceiling row), postgres the PostgreSQL server's processes, client this tool's load generator, fake the fake upstreams, other anything else on the machine (near 0 in a clean run).")
	if o.alternate > 0 {
		b.reportAlternating(w)
	}
	if o.compare != "" {
		b.reportCompare(w)
	}
	if len(b.starts) > 0 {
		fmt.Fprintln(w, "\n| store | start to ready, fresh database | start to ready, restart | broker peak RSS (VmHWM) |")
		fmt.Fprintln(w, "| --- | --: | --: | --: |")
		for _, s := range b.starts {
			fmt.Fprintf(w, "| %s | %s | %s | %s |\n", s.store, fmtDur(s.cold), fmtDur(s.restart), fmtRSS(s.highWater))
		}
	}

	fmt.Fprintln(w, "\n| target (issue 6) | measured | met |")
	fmt.Fprintln(w, "| --- | --- | --- |")
	for _, t := range b.targets() {
		met := "yes"
		if !t.met {
			met = "**no**"
		}
		fmt.Fprintf(w, "| %s | %s | %s |\n", t.what, t.measured, met)
	}

	for _, r := range b.rows {
		if r.st.errors == 0 {
			continue
		}
		fmt.Fprintf(w, "\nErrors in %s (%s): %d; samples:\n", r.scenario, r.store, r.st.errors)
		for _, msg := range r.st.errorSamples() {
			fmt.Fprintf(w, "- %d× %s\n", r.st.samples[msg], msg)
		}
	}
}

// disturbed is how much CPU other processes may take, in cores: more
// before a scenario and the tool waits for the machine to be idle; more
// during one and its figures are flagged as understated.
const disturbed = 0.10

// note is a row's remark: check against its ceiling, and a warning when
// something else on the machine took CPU meanwhile.
func (b *bench) note(r row) string {
	var notes []string
	if c := r.ceiling; c != nil && c.st.rate() > 0 {
		notes = append(notes, fmt.Sprintf("%.0f%% of ceiling", 100*r.st.rate()/c.st.rate()))
	}
	if r.cpu.ok && r.cpu.others > disturbed {
		notes = append(notes, fmt.Sprintf("disturbed: other processes took %.2f cores", r.cpu.others))
	}
	if r.remeasured > 0 {
		notes = append(notes, fmt.Sprintf("measured %d times: other processes disturbed the earlier ones", r.remeasured+1))
	}
	return strings.Join(notes, "; ")
}

func (b *bench) find(scenario, store string) *row {
	for i := range b.rows {
		if b.rows[i].scenario == scenario && b.rows[i].store == store {
			return &b.rows[i]
		}
	}
	return nil
}

// target is one of the goals next to what this run measured.
type target struct {
	what, measured string
	met            bool
}

// The targets (2 cores, load generator included, zero errors).
const (
	targetCheckShare    = 0.80
	targetRefreshSQLite = 5000.0
	targetRefreshPG     = 2500.0
	targetRefreshP99    = 20 * time.Millisecond
	targetLoginSQLite   = 1000.0
	targetLoginP99      = 50 * time.Millisecond
	targetRSS           = 100e6
	targetStartToReady  = 300 * time.Millisecond
)

func (b *bench) targets() []target {
	var ts []target
	rateP99 := func(what string, r *row, rate float64, p99 time.Duration) {
		got, p := r.st.rate(), r.st.percentile(99)
		ts = append(ts, target{what, fmt.Sprintf("%.0f/s, p99 %s", got, fmtDur(p)), got >= rate && p < p99})
	}
	for _, store := range b.opts.stores {
		if r := b.find(scenarioCheck, store); r != nil && r.ceiling != nil {
			bare := r.ceiling
			share := r.st.rate() / bare.st.rate()
			ts = append(ts, target{"check ≥ 80% of the bare ceiling (" + store + ")",
				fmt.Sprintf("%.0f%% (%.0f/s of %.0f/s)", 100*share, r.st.rate(), bare.st.rate()), share >= targetCheckShare})
		}
	}
	if r := b.find(scenarioRefresh, "sqlite"); r != nil {
		rateP99("refresh ≥ 5,000/s, p99 < 20 ms (sqlite)", r, targetRefreshSQLite, targetRefreshP99)
	}
	if r := b.find(scenarioRefresh, "postgres"); r != nil {
		rateP99("refresh ≥ 2,500/s, p99 < 20 ms (postgres)", r, targetRefreshPG, targetRefreshP99)
	}
	for _, sc := range []string{scenarioLogin, scenarioLoginGitHub} {
		if r := b.find(sc, "sqlite"); r != nil {
			rateP99(sc+" ≥ 1,000/s, p99 < 50 ms (sqlite)", r, targetLoginSQLite, targetLoginP99)
		}
	}
	var peak int64 = -1
	for _, r := range b.rows {
		peak = max(peak, r.rss)
	}
	for _, s := range b.starts {
		peak = max(peak, s.highWater)
	}
	if peak > 0 {
		ts = append(ts, target{"broker peak RSS < 100 MB", fmtRSS(peak), peak < targetRSS})
	}
	var slowest time.Duration
	for _, s := range b.starts {
		slowest = max(slowest, s.cold, s.restart)
	}
	if len(b.starts) > 0 {
		ts = append(ts, target{"start to ready < 300 ms", fmtDur(slowest) + " (slowest start)", slowest < targetStartToReady})
	}
	errs := 0
	for _, r := range b.rows {
		errs += r.st.errors
	}
	ts = append(ts, target{"zero errors", fmt.Sprint(errs), errs == 0})
	return ts
}

// cpuPerOp is the row's CPU per op: the server's, plus PostgreSQL's and
// their sum when PostgreSQL did any work.
func (r row) cpuPerOp() string {
	server, pg, ok := r.cpu.perOp(r.st.ok)
	switch {
	case !ok:
		return "n/a"
	case pg <= 0:
		return fmtDur(server)
	}
	return fmt.Sprintf("%s + %s = %s", fmtDur(server), fmtDur(pg), fmtDur(server+pg))
}

// fmtDur prints a latency with three significant digits or so.
func fmtDur(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d < time.Millisecond:
		return fmt.Sprintf("%d µs", d.Microseconds())
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2f ms", float64(d)/1e6)
	case d < 100*time.Millisecond:
		return fmt.Sprintf("%.1f ms", float64(d)/1e6)
	default:
		return fmt.Sprintf("%.0f ms", float64(d)/1e6)
	}
}

// fmtRSS prints bytes in MB (10^6 bytes), as the target is written.
func fmtRSS(n int64) string {
	switch {
	case n == 0:
		return "-"
	case n < 0:
		return "n/a"
	}
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}

func fmtRSSNote(n int64) string {
	if n == 0 {
		return ""
	}
	return "  broker peak RSS " + fmtRSS(n)
}
