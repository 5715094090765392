package main

import (
	"context"
	"maps"
	"math"
	"slices"
	"sync"
	"time"
)

// op is one unit of load (a request, or a whole login), done by worker w.
// Its latency is measured around it by the runner.
type op func(ctx context.Context, w int) error

// stats are one measured phase.
type stats struct {
	ok      int
	errors  int
	elapsed time.Duration
	lat     []time.Duration // successful ops, sorted
	samples map[string]int  // a few distinct error messages and their counts
}

// maxSamples bounds the distinct error messages kept per worker and phase.
const maxSamples = 5

// workerStats is one worker's tally; each worker has its own, so workers
// share nothing while they run.
type workerStats struct {
	lat     []time.Duration
	errors  int
	samples map[string]int
}

func (s *workerStats) fail(err error) {
	s.errors++
	msg := err.Error()
	if _, ok := s.samples[msg]; ok || len(s.samples) < maxSamples {
		s.samples[msg]++
	}
}

// phase runs do on workers goroutines for d. A worker starts no op after
// the deadline; ops in flight then complete and count, and elapsed
// includes them.
func phase(ctx context.Context, workers int, d time.Duration, do op) (*stats, error) {
	per := make([]*workerStats, workers)
	start := time.Now()
	end := start.Add(d)
	var wg sync.WaitGroup
	for w := range workers {
		s := &workerStats{lat: make([]time.Duration, 0, 1024), samples: map[string]int{}}
		per[w] = s
		wg.Go(func() {
			for ctx.Err() == nil {
				t := time.Now()
				if !t.Before(end) {
					return
				}
				if err := do(ctx, w); err != nil {
					if ctx.Err() == nil {
						s.fail(err)
					}
					continue
				}
				s.lat = append(s.lat, time.Since(t))
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	st := &stats{elapsed: time.Since(start), samples: map[string]int{}}
	for _, s := range per {
		st.lat = append(st.lat, s.lat...)
		st.errors += s.errors
		for msg, n := range s.samples {
			if _, ok := st.samples[msg]; ok || len(st.samples) < maxSamples {
				st.samples[msg] += n
			}
		}
	}
	st.ok = len(st.lat)
	slices.Sort(st.lat)
	return st, nil
}

// merge adds o's figures to s's, as if one phase.
func (s *stats) merge(o *stats) {
	s.ok += o.ok
	s.errors += o.errors
	s.elapsed += o.elapsed
	s.lat = append(s.lat, o.lat...)
	slices.Sort(s.lat)
	for msg, n := range o.samples {
		if _, ok := s.samples[msg]; ok || len(s.samples) < maxSamples {
			s.samples[msg] += n
		}
	}
}

// rate is successful ops per second.
func (s *stats) rate() float64 { return float64(s.ok) / s.elapsed.Seconds() }

// percentile is the nearest-rank p-th percentile (0 < p <= 100) of the
// successful ops' latencies.
func (s *stats) percentile(p float64) time.Duration {
	if len(s.lat) == 0 {
		return 0
	}
	i := int(math.Ceil(float64(len(s.lat))*p/100)) - 1
	return s.lat[min(max(i, 0), len(s.lat)-1)]
}

// errorSamples lists the kept error messages, most frequent first.
func (s *stats) errorSamples() []string {
	msgs := slices.Collect(maps.Keys(s.samples))
	slices.SortFunc(msgs, func(a, b string) int { return s.samples[b] - s.samples[a] })
	return msgs
}

// parallel runs fn(i) for i in [0, n) on workers goroutines and returns
// the first error; the others then stop early.
func parallel(ctx context.Context, n, workers int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Go(func() {
			for i := range jobs {
				if err := fn(ctx, i); err != nil {
					cancel(err)
				}
			}
		})
	}
feed:
	for i := range n {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	return context.Cause(ctx)
}
