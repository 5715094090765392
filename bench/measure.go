package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"
)

// load is one thing to measure: an op, and the server process it loads.
type load struct {
	do     op
	server int
}

// measured is a load's figures: its stats and where the CPU went.
type measured struct {
	st  *stats
	cpu cpuUse
}

// rounds is how many times interleaved loads take turns.
const rounds = 5

// measure warms each load up, then measures each for the set duration
// on workers goroutines. Several loads take turns, in rounds of a fifth
// of the duration each. A profile, if any, starts with the measured
// phase.
func (b *bench) measure(ctx context.Context, workers int, loads []load, prof *profile) ([]measured, error) {
	if err := b.waitIdle(ctx, loads); err != nil {
		return nil, err
	}
	for _, l := range loads {
		if b.opts.warmup > 0 {
			if _, err := phase(ctx, workers, b.opts.warmup, l.do); err != nil {
				return nil, err
			}
		}
	}
	n, slice := 1, b.opts.duration
	if len(loads) > 1 {
		n, slice = rounds, b.opts.duration/rounds
	}
	if prof != nil {
		prof.start(ctx, time.Duration(len(loads))*b.opts.duration) // all the rounds
	}
	res := make([]measured, len(loads))
	for range n {
		for i, l := range loads {
			pids := map[string]int{"broker": l.server, "client": os.Getpid(), "fake": b.fake.pid()}
			before := sampleCPU(pids, b.pg)
			st, err := phase(ctx, workers, slice, l.do)
			if err != nil {
				return nil, err
			}
			cpu := sampleCPU(pids, b.pg).since(before, b.machine.cores)
			if res[i].st == nil {
				res[i] = measured{st, cpu}
				continue
			}
			res[i].cpu = res[i].cpu.weigh(res[i].st.elapsed, cpu, st.elapsed)
			res[i].st.merge(st)
		}
	}
	return res, nil
}

// waitIdle waits, at most -wait-idle, until processes other than this
// tool's use less than disturbed cores over a second: other work on the
// machine would take cores from the measured processes.
func (b *bench) waitIdle(ctx context.Context, loads []load) error {
	if b.opts.waitIdle <= 0 {
		return nil
	}
	pids := map[string]int{"client": os.Getpid(), "fake": b.fake.pid()}
	for i, l := range loads {
		pids["server"+strconv.Itoa(i)] = l.server
	}
	deadline := time.Now().Add(b.opts.waitIdle)
	for said := false; ; said = true {
		before := sampleCPU(pids, b.pg)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
		u := sampleCPU(pids, b.pg).since(before, b.machine.cores)
		busy := u.postgres + u.others // nothing loads PostgreSQL now
		switch {
		case !u.ok || busy < disturbed:
			return nil
		case time.Now().After(deadline):
			fmt.Fprintf(b.out, "  (other processes still use %.2f cores: measuring anyway)\n", busy)
			return nil
		case !said:
			fmt.Fprintf(b.out, "  (other processes use %.2f cores: waiting up to %s for the machine to be idle)\n", busy, b.opts.waitIdle)
		}
	}
}
