package main

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// soakMax bounds -soak: the tool always stops by itself.
const soakMax = 2 * time.Hour

// soakSample is one look at the broker during a soak.
type soakSample struct {
	at         time.Duration // since the load began
	rss        int64         // VmRSS, bytes
	heap       float64       // go_memstats_heap_inuse_bytes
	goMem      float64       // what the Go runtime holds of the OS: go_memstats_sys_bytes less heap_released
	goroutines float64       // go_goroutines, from /metrics; -1 unknown
	fds        int           // entries of /proc/<pid>/fd; -1 unknown
	ops, errs  int64         // so far
	limit      float64       // go_gc_gomemlimit_bytes: the broker's soft memory limit; -1 unknown
	gogc       float64       // go_gc_gogc_percent; -1 unknown
	cpu, gcs   float64       // process_cpu_seconds_total, go_gc_duration_seconds_count
}

// runSoak runs the real broker under a mixed load for b.opts.soak on each
// store and samples its resident set, Go heap, goroutines and open file
// descriptors every b.opts.soakEvery, then reports their slopes over the
// last two thirds of the run (the first third fills the caches). Each
// worker loops over: a complete login (alternately through the fake OIDC
// upstream and the fake GitHub), three /auth/check with its access token,
// a refresh, one /auth/check with the new token: every op brings new
// sessions, codes and tokens, so the broker's caches fill up as under a
// long real load.
func (b *bench) runSoak(ctx context.Context) error {
	for _, store := range b.opts.stores {
		if err := b.soakStore(ctx, store); err != nil {
			return fmt.Errorf("%s: %w", store, err)
		}
	}
	return nil
}

func (b *bench) soakStore(ctx context.Context, store string) error {
	spec, issuer, _, err := b.prepareStore(ctx, store, "")
	if err != nil {
		return err
	}
	br, _, err := startBroker(ctx, spec, issuer)
	if err != nil {
		return err
	}
	b.live = br
	defer func() {
		b.live = nil
		_ = br.stop()
		_ = b.dropSchema()
	}()
	workers := b.opts.soakWorkers
	fmt.Fprintf(b.out, "soak: %s, %d workers, %s, a sample every %s\n", br.name, workers, b.opts.soak, b.opts.soakEvery)

	a := &agent{broker: issuer, users: b.opts.users, hc: newH1Client(b.opts.timeout)}
	defer a.hc.closeIdle()
	load, stop := context.WithTimeout(ctx, b.opts.soak)
	defer stop()
	var ops, errs atomic.Int64
	var wg sync.WaitGroup
	check := issuer + "/auth/check"
	for w := range workers {
		wg.Go(func() {
			provider := [2]string{"google", "github"}[w%2]
			count := func(err error) bool {
				if load.Err() != nil {
					return false // the end of the run, not the broker's
				}
				ops.Add(1)
				if err != nil {
					errs.Add(1)
				}
				return err == nil
			}
			for load.Err() == nil {
				tr, err := a.signIn(load, provider, a.nextUser())
				if !count(err) {
					continue
				}
				for range 3 {
					count(a.bearerGet(load, check, tr))
				}
				next, err := a.refresh(load, tr)
				if !count(err) {
					continue
				}
				count(a.bearerGet(load, check, next))
			}
		})
	}

	mc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	began := time.Now()
	var samples []soakSample
	take := func() {
		s := soakSample{at: time.Since(began), goroutines: -1, heap: -1, goMem: -1, fds: -1, limit: -1, gogc: -1, ops: ops.Load(), errs: errs.Load()}
		s.rss, _ = procStatus(br.pid(), "VmRSS")
		if m, err := scrape(ctx, mc, issuer+"/metrics"); err == nil {
			s.goroutines, s.heap = m["go_goroutines"], m["go_memstats_heap_inuse_bytes"]
			s.goMem = m["go_memstats_sys_bytes"] - m["go_memstats_heap_released_bytes"]
			s.cpu, s.gcs = m["process_cpu_seconds_total"], m["go_gc_duration_seconds_count"]
			if v, ok := m["go_gc_gomemlimit_bytes"]; ok {
				s.limit = v
			}
			if v, ok := m["go_gc_gogc_percent"]; ok {
				s.gogc = v
			}
		}
		if fds, err := os.ReadDir("/proc/" + strconv.Itoa(br.pid()) + "/fd"); err == nil {
			s.fds = len(fds)
		}
		samples = append(samples, s)
		fmt.Fprintf(b.out, "  %7s  RSS %-9s Go runtime %-9s heap in use %-9s goroutines %-5.0f fds %-4d ops %d errors %d\n",
			s.at.Truncate(time.Second), fmtRSS(s.rss), fmtRSS(int64(s.goMem)), fmtRSS(int64(s.heap)), s.goroutines, s.fds, s.ops, s.errs)
	}
	take()
	tick := time.NewTicker(b.opts.soakEvery)
	defer tick.Stop()
sampling:
	for {
		select {
		case <-load.Done():
			break sampling
		case <-tick.C:
			take()
			if br.exited() {
				return fmt.Errorf("%s exited during the soak%s", br.name, br.logTail())
			}
		}
	}
	wg.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	take() // the load has stopped: what stays

	b.soakReport(store, workers, samples)
	return nil
}

// soakReport prints a soak's figures and the slopes that would show a
// leak.
func (b *bench) soakReport(store string, workers int, samples []soakSample) {
	last := samples[len(samples)-1]
	loaded := samples[:len(samples)-1] // the last one was taken after the load
	from := len(loaded) / 3
	steady := loaded[from:]
	fmt.Fprintf(b.out, "\n## Soak (%s)\n\nBroker: %s on %s, %d workers for %s, sampled every %s; slopes over the last two thirds (%s to %s).\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), b.version, store, workers, b.opts.soak, b.opts.soakEvery,
		steady[0].at.Truncate(time.Second), steady[len(steady)-1].at.Truncate(time.Second))
	limit := "unknown"
	switch {
	case last.limit >= 1<<62:
		limit = "none"
	case last.limit > 0:
		limit = fmt.Sprintf("%.0f MiB", last.limit/(1<<20))
	}
	fmt.Fprintf(b.out, "The broker's GOGC: %.0f; soft memory limit (GOMEMLIMIT): %s.\n\n", last.gogc, limit)
	fmt.Fprintln(b.out, "| figure | min | max | at the end of the load | after the load | slope per minute |")
	fmt.Fprintln(b.out, "| --- | --: | --: | --: | --: | --: |")
	row := func(name string, v func(soakSample) float64, f func(float64) string) {
		lo, hi := v(steady[0]), v(steady[0])
		for _, s := range steady {
			lo, hi = min(lo, v(s)), max(hi, v(s))
		}
		fmt.Fprintf(b.out, "| %s | %s | %s | %s | %s | %s |\n", name, f(lo), f(hi), f(v(steady[len(steady)-1])), f(v(last)), f(slope(steady, v)))
	}
	mb := func(x float64) string { return fmt.Sprintf("%.1f MB", x/1e6) }
	num := func(x float64) string { return fmt.Sprintf("%.1f", x) }
	row("RSS", func(s soakSample) float64 { return float64(s.rss) }, mb)
	row("Go runtime (sys less released)", func(s soakSample) float64 { return s.goMem }, mb)
	row("outside the Go runtime (RSS less the above: binary, SQLite's page caches)", func(s soakSample) float64 { return float64(s.rss) - s.goMem }, mb)
	row("Go heap in use", func(s soakSample) float64 { return s.heap }, mb)
	row("goroutines", func(s soakSample) float64 { return s.goroutines }, num)
	row("open FDs", func(s soakSample) float64 { return float64(s.fds) }, num)
	end := loaded[len(loaded)-1]
	secs := (end.at - loaded[0].at).Seconds()
	fmt.Fprintf(b.out, "\nops: %d (%.0f/s), errors: %d", last.ops, float64(end.ops)/secs, last.errs)
	// What an op costs the broker once the caches are full: its CPU per
	// op and collections per minute over the steady part, comparable
	// between runs whatever else the machine did.
	first := steady[0]
	if ops := float64(end.ops - first.ops); ops > 0 && first.cpu > 0 {
		mins := (end.at - first.at).Minutes()
		fmt.Fprintf(b.out, "; steady part: broker CPU %.0f µs per op, %.0f collections per minute", (end.cpu-first.cpu)/ops*1e6, (end.gcs-first.gcs)/mins)
	}
	fmt.Fprintln(b.out)
}

// slope is the least-squares slope of v over time, per minute.
func slope(samples []soakSample, v func(soakSample) float64) float64 {
	n := float64(len(samples))
	if n < 2 {
		return 0
	}
	var sx, sy, sxx, sxy float64
	for _, s := range samples {
		x, y := s.at.Minutes(), v(s)
		sx, sy, sxx, sxy = sx+x, sy+y, sxx+x*x, sxy+x*y
	}
	d := n*sxx - sx*sx
	if d == 0 {
		return 0
	}
	return (n*sxy - sx*sy) / d
}

// scrape reads the unlabelled samples of a Prometheus text exposition.
func scrape(ctx context.Context, hc *http.Client, u string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	m := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if !ok || strings.HasPrefix(name, "#") || strings.Contains(name, "{") {
			continue
		}
		if f, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
			m[name] = f
		}
	}
	return m, sc.Err()
}
