package main

import (
	"math"
	"runtime/debug"
	"testing"
)

// TestRuntimeDefaults: broker serve bounds its memory by default (issue
// 14: without a limit the resident set levelled off at 90-145 MB under
// load), and GOGC and GOMEMLIMIT in the environment still win.
func TestRuntimeDefaults(t *testing.T) {
	gc, limit := debug.SetGCPercent(100), debug.SetMemoryLimit(math.MaxInt64)
	t.Cleanup(func() {
		debug.SetGCPercent(gc)
		debug.SetMemoryLimit(limit)
	})
	for _, tc := range []struct {
		name      string
		env       map[string]string
		wantGC    int
		wantLimit int64
	}{
		{"defaults", nil, gcPercent, memoryLimit},
		{"environment sets both", map[string]string{"GOGC": "100", "GOMEMLIMIT": "off"}, 100, math.MaxInt64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			debug.SetGCPercent(100)
			debug.SetMemoryLimit(math.MaxInt64)
			setRuntimeDefaults(func(k string) string { return tc.env[k] })
			if got := debug.SetGCPercent(100); got != tc.wantGC {
				t.Errorf("GC percent = %d, want %d", got, tc.wantGC)
			}
			if got := debug.SetMemoryLimit(-1); got != tc.wantLimit {
				t.Errorf("memory limit = %d, want %d", got, tc.wantLimit)
			}
		})
	}
}
