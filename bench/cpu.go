package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// The load generator, the fakes and the broker share the machine's cores,
// and so does anything else running on it. Where the CPU went during a
// scenario says which of them a figure is really measuring, and whether
// another process disturbed the run.

// cpuSample is the machine's CPU time and that of the tool's processes at
// one moment, in clock ticks (USER_HZ, as /proc reports them).
type cpuSample struct {
	ok          bool
	total, busy int64            // all CPUs, from /proc/stat
	procs       map[string]int64 // user+system time of each named process
	postgres    map[int]int64    // and of each PostgreSQL server process
}

// cpuUse is a scenario's CPU, in cores (1.0 = one core busy throughout),
// and the broker's and PostgreSQL's in CPU seconds, which divided by the
// operations done are the CPU time per operation: the figure that other
// processes on the machine disturb least.
type cpuUse struct {
	ok                                     bool
	broker, postgres, client, fake, others float64
	brokerSec, postgresSec                 float64
}

// perOp is the broker's and PostgreSQL's CPU time per operation over ops
// operations; ok false if unknown.
func (u cpuUse) perOp(ops int) (broker, postgres time.Duration, ok bool) {
	if !u.ok || ops <= 0 {
		return 0, 0, false
	}
	per := func(sec float64) time.Duration { return time.Duration(sec / float64(ops) * 1e9) }
	return per(u.brokerSec), per(u.postgresSec), true
}

// sampleCPU reads /proc/stat and each process's /proc/<pid>/stat. pids
// maps "broker", "client" and "fake" to process ids. pg lists the
// PostgreSQL processes to count (see pgProcs); nil counts none: on SQLite
// the server's work is other processes' (other tests sharing it).
func sampleCPU(pids map[string]int, pg *pgProcs) cpuSample {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuSample{}
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	if len(f) < 8 || f[0] != "cpu" {
		return cpuSample{}
	}
	s := cpuSample{ok: true, procs: map[string]int64{}}
	for i, v := range f[1:] {
		n, _ := strconv.ParseInt(v, 10, 64)
		if i >= 8 { // guest time is already counted in user
			break
		}
		s.total += n
		if i != 3 && i != 4 { // idle, iowait
			s.busy += n
		}
	}
	for name, pid := range pids {
		s.procs[name] = procTicks(pid)
	}
	s.postgres = pg.ticks()
	return s
}

// postgresTicks is the CPU time of every process named postgres: the
// server's backends (one per broker connection) and helpers.
func postgresTicks() map[int]int64 {
	m := map[int]int64{}
	dir, err := os.ReadDir("/proc")
	if err != nil {
		return m
	}
	for _, e := range dir {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if comm, err := os.ReadFile("/proc/" + e.Name() + "/comm"); err == nil && strings.TrimSpace(string(comm)) == "postgres" {
			m[pid] = procTicks(pid)
		}
	}
	return m
}

// procTicks is a process's user+system time (all its threads), in ticks.
func procTicks(pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name, in parentheses, may hold spaces: fields count
	// from after its closing one. utime and stime are fields 14 and 15.
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return utime + stime
}

// since is the CPU used between s0 and s, in cores.
func (s cpuSample) since(s0 cpuSample, cores int) cpuUse {
	if !s.ok || !s0.ok || s.total <= s0.total || cores <= 0 {
		return cpuUse{}
	}
	perCore := float64(s.total-s0.total) / float64(cores) // elapsed ticks of one CPU
	cores1 := func(ticks int64) float64 { return float64(ticks) / perCore }
	u := cpuUse{ok: true}
	var ours int64
	for name, t := range s.procs {
		d := t - s0.procs[name]
		ours += d
		switch name {
		case "broker":
			u.broker = cores1(d)
			u.brokerSec = float64(d) / userHZ
		case "client":
			u.client = cores1(d)
		case "fake":
			u.fake = cores1(d)
		}
	}
	// A backend that started meanwhile counts in full; one that ended is
	// missed (the broker's pool keeps its connections).
	var pg int64
	for pid, t := range s.postgres {
		pg += t - s0.postgres[pid]
	}
	u.postgres = cores1(pg)
	u.postgresSec = float64(pg) / userHZ
	u.others = max(0, cores1(s.busy-s0.busy-ours-pg))
	return u
}

func (u cpuUse) String() string {
	if !u.ok {
		return "n/a"
	}
	return fmt.Sprintf("%.2f / %.2f / %.2f / %.2f / %.2f", u.broker, u.postgres, u.client, u.fake, u.others)
}

// weigh averages u over du and v over dv, and adds their CPU seconds.
func (u cpuUse) weigh(du time.Duration, v cpuUse, dv time.Duration) cpuUse {
	if !u.ok || !v.ok || du+dv <= 0 {
		return cpuUse{}
	}
	avg := func(a, b float64) float64 { return (a*du.Seconds() + b*dv.Seconds()) / (du + dv).Seconds() }
	return cpuUse{ok: true, broker: avg(u.broker, v.broker), postgres: avg(u.postgres, v.postgres),
		client: avg(u.client, v.client), fake: avg(u.fake, v.fake), others: avg(u.others, v.others),
		brokerSec: u.brokerSec + v.brokerSec, postgresSec: u.postgresSec + v.postgresSec}
}
