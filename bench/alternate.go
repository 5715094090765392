package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// -alternate: whether a filled database costs more per operation than an
// empty one is a difference of a few percent, which a shared machine's
// drift between two separate runs hides (and a fill takes minutes). So the
// same binary runs on both at once, the filled file's broker beside the
// empty one's (beside.go), each file kept between the runs.

// runAlternating runs every scenario opts.alternate times on an empty
// database and, in turns with it, on one holding opts.fill accounts.
func (b *bench) runAlternating(ctx context.Context, store string) error {
	filled := &beside{label: fmt.Sprintf("%s, %d filled", store, b.opts.fill), sqlitePath: b.opts.fillFile, fill: b.opts.fill}
	if filled.sqlitePath == "" {
		filled.sqlitePath = filepath.Join(b.dir, "filled.db")
	}
	empty := database{store: store, label: store + ", empty", sqlitePath: filepath.Join(b.dir, "empty.db"), beside: filled}
	for round := range b.opts.alternate {
		fmt.Fprintf(b.out, "run %d of %d\n", round+1, b.opts.alternate)
		if err := b.runStore(ctx, empty); err != nil {
			return err
		}
	}
	return nil
}

// reportAlternating prints, for each scenario, the CPU per operation of
// every run on either database and the ratio filled/empty of each run.
func (b *bench) reportAlternating(w io.Writer) {
	fmt.Fprintf(w, "\n| scenario | CPU/op, empty database | CPU/op, %d accounts | filled / empty, run by run | median |\n", b.opts.fill)
	fmt.Fprintln(w, "| --- | --- | --- | --- | --: |")
	for _, sc := range b.opts.scenarios {
		var empty, filled []time.Duration
		for _, r := range b.rows {
			if r.scenario != sc {
				continue
			}
			cpu := cpuTotal(r)
			if cpu == 0 {
				continue
			}
			if strings.HasSuffix(r.store, ", empty") {
				empty = append(empty, cpu)
			} else {
				filled = append(filled, cpu)
			}
		}
		var ratios []float64
		for i := range min(len(empty), len(filled)) {
			ratios = append(ratios, float64(filled[i])/float64(empty[i]))
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s |\n", sc, joinDur(empty), joinDur(filled), joinRatios(ratios), fmtRatio(median(ratios)))
	}
}

func joinDur(ds []time.Duration) string {
	s := make([]string, len(ds))
	for i, d := range ds {
		s[i] = fmtDur(d)
	}
	return strings.Join(s, ", ")
}

func joinRatios(rs []float64) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = fmtRatio(r)
	}
	return strings.Join(s, ", ")
}

// fmtRatio prints a ratio as the change it is: 1.04 is "+4.0%".
func fmtRatio(r float64) string {
	if r == 0 {
		return "-"
	}
	return fmt.Sprintf("%+.1f%%", 100*(r-1))
}

// median of rs, 0 for none.
func median(rs []float64) float64 {
	if len(rs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(rs))
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}
