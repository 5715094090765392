package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The scenarios, in the order they run.
const (
	scenarioCheck       = "check"        // GET /auth/check with valid tokens
	scenarioMe          = "me"           // GET /auth/me
	scenarioRefresh     = "refresh"      // POST /token grant_type=refresh_token, one chain per worker
	scenarioLogin       = "login"        // complete logins through the fake OIDC upstream ("google")
	scenarioLoginGitHub = "login-github" // complete logins through the fake GitHub
)

var allScenarios = []string{scenarioCheck, scenarioMe, scenarioRefresh, scenarioLogin, scenarioLoginGitHub}

// defaultConcurrency is per scenario: enough workers to keep two cores
// busy without queueing so much that p99 measures only the queue. On
// SQLite a refresh or a login waits for a group commit (and a login for
// the upstream too), so few workers leave a core partly idle: at 16
// about a sixth of the machine was idle in both. Refresh takes 32: 40
// gave a tenth more per second while the machine ran fast (6,324-6,609/s
// against 5,576-6,035/s, three alternating pairs), but no more while it
// ran slow (4,889/s against 4,869/s), when its p99 reached 19.8 ms. Logins
// take 24: they keep the machine as busy as at 28 (the same logins per
// second in three alternating pairs) with less queueing, p99 36-41 ms
// against 37-61 ms: a login's p99 grows with its p50, and so with the
// workers (Little's law).
var defaultConcurrency = map[string]int{
	scenarioCheck: 32, scenarioMe: 32, scenarioRefresh: 32, scenarioLogin: 24, scenarioLoginGitHub: 24,
}

// postgresConcurrency overrides defaultConcurrency on PostgreSQL, whose
// server takes its share of the two cores: 16 workers, the broker's pool
// size, keep it busy; 32 only queue for a connection (refresh at 32: a
// quarter fewer per second, p99 more than doubled).
var postgresConcurrency = map[string]int{
	scenarioRefresh: 16, scenarioLogin: 16, scenarioLoginGitHub: 16,
}

// workers is the concurrency of scenario on store: as set by -concurrency,
// else the store's default.
func (o *options) workers(store, scenario string) int {
	if n, ok := o.concurrency[scenario]; ok {
		return n
	}
	if n, ok := postgresConcurrency[scenario]; ok && store == "postgres" {
		return n
	}
	return defaultConcurrency[scenario]
}

const usage = `usage: go run ./bench [flags]

Builds ./cmd/broker, starts it (SQLite and/or PostgreSQL) with a fake
upstream and a bare Echo ceiling in processes of their own, runs each
scenario for a fixed time and prints a Markdown table. Run it from the
repository root.

scenarios: check, me, refresh, login (fake OIDC "google"), login-github

flags:
`

// options are the command line.
type options struct {
	duration    time.Duration
	warmup      time.Duration
	concurrency map[string]int // as set by -concurrency; see workers
	stores      []string       // "sqlite", "postgres"
	scenarios   []string
	sessions    int // signed-in sessions check and me cycle through
	users       int // distinct upstream users logins pick from
	postgres    string
	brokerBin   string // prebuilt broker binary; "" builds ./cmd/broker
	cpuProfile  string // path prefix for CPU profiles; "" profiles nothing
	fakeAlg     string // the fake OIDC upstream's ID token algorithm
	timeout     time.Duration
	logLevel    string
	waitIdle    time.Duration
	soak        time.Duration // > 0: run the soak instead of the scenarios
	soakEvery   time.Duration
	soakWorkers int
	revoked     int // > 0: measure starts with this many stored revocations instead
	revokedSpan time.Duration
	claims      int      // custom claims of the bench tenant (claims.go)
	fill        int      // accounts stored before the scenarios (fill.go)
	tenants     int      // runtime tenants the load spreads over (tenants.go)
	alternate   int      // > 0: runs on an empty and a filled database, in turns (alternate.go)
	fillFile    string   // the filled SQLite database, kept between runs
	compare     string   // a second broker binary, measured beside the first (beside.go)
	args        []string // as given, for the report
}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	o := &options{args: args}
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "measured time per scenario")
	fs.DurationVar(&o.warmup, "warmup", time.Second, "unmeasured time before each scenario: opens connections and warms caches")
	conc := fs.String("concurrency", "", `workers per scenario: "N" for all, or "check=64,refresh=8" (defaults `+formatConcurrency(defaultConcurrency)+`, on PostgreSQL `+formatConcurrency(postgresConcurrency)+`; the bare ceiling uses check's)`)
	store := fs.String("store", "both", "sqlite | postgres | both")
	scenarios := fs.String("scenarios", strings.Join(allScenarios, ","), "comma-separated scenarios to run")
	fs.IntVar(&o.sessions, "sessions", 200, "signed-in sessions (distinct access tokens) that check and me cycle through")
	fs.IntVar(&o.users, "users", 1000, "distinct users the fake upstreams offer; logins cycle through them (first logins create users)")
	defaultPG := os.Getenv("BROKER_TEST_POSTGRES")
	if defaultPG == "" {
		defaultPG = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
	}
	fs.StringVar(&o.postgres, "postgres", defaultPG, "PostgreSQL server `URL` (default $BROKER_TEST_POSTGRES, else the test server); a schema bench_<random> is created there and dropped after")
	fs.StringVar(&o.brokerBin, "broker", "", "use this broker binary instead of building ./cmd/broker")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "profile the broker (broker serve --pprof) during each scenario's measured phase, into `PREFIX`-<store>-<scenario>.pprof")
	fs.StringVar(&o.fakeAlg, "fake-alg", "ES256", `the fake OIDC upstream's ID token signature: ES256, or RS256 as Google's (~1.5 ms of the fake's CPU per login)`)
	fs.DurationVar(&o.waitIdle, "wait-idle", 30*time.Second, "before each scenario, wait at most this long for other processes to leave the CPU idle (0: do not wait)")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "per-request timeout")
	fs.StringVar(&o.logLevel, "log-level", "info", "the broker's log_level (its logs go to a file in the temporary directory)")
	fs.DurationVar(&o.soak, "soak", 0, "instead of the scenarios: run a mixed load (login, check, refresh) for this long (at most "+soakMax.String()+") and sample RSS, Go heap, goroutines and open FDs")
	fs.DurationVar(&o.soakEvery, "soak-every", 5*time.Second, "-soak: time between samples")
	fs.IntVar(&o.soakWorkers, "soak-workers", 16, "-soak: workers, each looping login, 3 checks, refresh, check")
	fs.IntVar(&o.revoked, "revoked", 0, "instead of the scenarios: store this many revoked sessions (over -revoked-span) and measure the broker's start, RSS and idle CPU before and after")
	fs.DurationVar(&o.revokedSpan, "revoked-span", 30*24*time.Hour, "-revoked: the revocations are spread evenly over this much time before now (0: all at once, a burst)")
	fs.IntVar(&o.claims, "claims", 0, "give the bench tenant this many custom claims (CEL expressions, [[tenants.claims]]), evaluated at every login and refresh; at most 32")
	fs.IntVar(&o.fill, "fill", 0, "before the scenarios, store this many users, each with an identity, a session and a live refresh token (through the store's own code, in batches)")
	fs.IntVar(&o.alternate, "alternate", 0, "with -fill on SQLite: run the scenarios this many times on an empty database and, in turns with it (two brokers at once, five rounds each), on the filled one, each database kept between the runs, and report the filled/empty ratio of CPU per operation run by run")
	fs.StringVar(&o.fillFile, "fill-file", "", "with -fill on SQLite: keep the filled database in this `FILE`, and when it exists already use it as it is instead of filling (a million accounts take minutes)")
	fs.StringVar(&o.compare, "compare", "", "also start this broker `BINARY` on the same database, as a second replica, and measure every scenario on both in turns (five rounds each, so that a change in the machine's speed weighs on both alike); the report gives B's CPU per operation against A's (-broker, or ./cmd/broker built)")
	fs.IntVar(&o.tenants, "tenants", 0, "create this many runtime tenants (as the admin API does) before the scenarios, and spread the sign-ins over them in turn; 0: the one tenant of config.toml")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}

	var err error
	if o.concurrency, err = parseConcurrency(*conc); err != nil {
		return nil, err
	}
	switch *store {
	case "sqlite", "postgres":
		o.stores = []string{*store}
	case "both":
		o.stores = []string{"sqlite", "postgres"}
	default:
		return nil, fmt.Errorf("-store: want sqlite, postgres or both, got %q", *store)
	}
	for s := range strings.SplitSeq(*scenarios, ",") {
		s = strings.TrimSpace(s)
		if !slices.Contains(allScenarios, s) {
			return nil, fmt.Errorf("-scenarios: unknown scenario %q (known: %s)", s, strings.Join(allScenarios, ", "))
		}
		if !slices.Contains(o.scenarios, s) {
			o.scenarios = append(o.scenarios, s)
		}
	}
	// Run them in the canonical order whatever the flag's.
	slices.SortFunc(o.scenarios, func(a, b string) int {
		return slices.Index(allScenarios, a) - slices.Index(allScenarios, b)
	})
	switch {
	case o.duration <= 0:
		return nil, fmt.Errorf("-duration must be positive")
	case o.warmup < 0:
		return nil, fmt.Errorf("-warmup must not be negative")
	case o.sessions <= 0 || o.users <= 0:
		return nil, fmt.Errorf("-sessions and -users must be positive")
	case o.timeout <= 0:
		return nil, fmt.Errorf("-timeout must be positive")
	case o.fakeAlg != "ES256" && o.fakeAlg != "RS256":
		return nil, fmt.Errorf("-fake-alg: want ES256 or RS256, got %q", o.fakeAlg)
	case o.soak < 0 || o.soak > soakMax:
		return nil, fmt.Errorf("-soak: want at most %s", soakMax)
	case o.soak > 0 && (o.soakEvery < 100*time.Millisecond || o.soakEvery > o.soak/3 || o.soakWorkers <= 0):
		return nil, fmt.Errorf("-soak-every must be at least 100ms and a third of -soak at most; -soak-workers positive")
	case o.soak > 0 && o.revoked > 0:
		return nil, fmt.Errorf("-soak and -revoked are separate runs")
	case o.revokedSpan < 0 || o.revokedSpan > 80*24*time.Hour:
		return nil, fmt.Errorf("-revoked-span: want 0 to 80 days (sessions end 90 days after their revocation)")
	case o.fill < 0 || o.fill > 10_000_000:
		return nil, fmt.Errorf("-fill: want 0 to 10000000")
	case (o.fill > 0 || o.tenants > 0) && (o.soak > 0 || o.revoked > 0):
		return nil, fmt.Errorf("-fill and -tenants apply to the scenarios, not to -soak or -revoked")
	case o.alternate < 0 || o.alternate > 20:
		return nil, fmt.Errorf("-alternate: want 0 to 20 rounds")
	case (o.alternate > 0 || o.fillFile != "") && (o.fill == 0 || !slices.Equal(o.stores, []string{"sqlite"}) || o.tenants > 0):
		return nil, fmt.Errorf("-alternate and -fill-file need -fill and -store sqlite, without -tenants (a PostgreSQL fill is not kept between runs)")
	case o.compare != "" && (o.alternate > 0 || o.soak > 0 || o.revoked > 0 || o.cpuProfile != ""):
		return nil, fmt.Errorf("-compare measures the scenarios, without -alternate, -soak, -revoked or -cpuprofile")
	case o.tenants < 0 || o.tenants > 100_000:
		return nil, fmt.Errorf("-tenants: want 0 to 100000")
	case o.revoked < 0 || o.revoked > 10_000_000:
		return nil, fmt.Errorf("-revoked: want 0 to 10000000")
	case o.claims < 0 || o.claims > maxBenchClaims:
		return nil, fmt.Errorf("-claims: want 0 to %d", maxBenchClaims)
	case o.cpuProfile != "" && o.duration < time.Second:
		return nil, fmt.Errorf("-cpuprofile needs a -duration of at least 1s")
	}
	return o, nil
}

// parseConcurrency reads "N" (every scenario) or "name=N,name=N".
func parseConcurrency(s string) (map[string]int, error) {
	m := map[string]int{}
	if s == "" {
		return m, nil
	}
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 {
			return nil, fmt.Errorf("-concurrency must be positive")
		}
		for _, k := range allScenarios {
			m[k] = n
		}
		return m, nil
	}
	for part := range strings.SplitSeq(s, ",") {
		name, num, ok := strings.Cut(strings.TrimSpace(part), "=")
		n, err := strconv.Atoi(num)
		if !ok || err != nil || n <= 0 || !slices.Contains(allScenarios, name) {
			return nil, fmt.Errorf(`-concurrency: want "N" or "scenario=N,...", got %q`, part)
		}
		m[name] = n
	}
	return m, nil
}

func formatConcurrency(m map[string]int) string {
	var parts []string
	for _, s := range allScenarios {
		if n, ok := m[s]; ok {
			parts = append(parts, fmt.Sprintf("%s=%d", s, n))
		}
	}
	return strings.Join(parts, ",")
}
