package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/socialbroker/broker/internal/config"
	"github.com/socialbroker/broker/storage"
	"github.com/socialbroker/broker/storage/sqlite"
)

// fullDisk is a SQLite store whose writes the test can make fail, as a
// full disk does: while full, every write it is asked for (ProbeWrite,
// or one the test says a request made) is refused and judged so.
type fullDisk struct {
	*sqlite.Store
	mu     sync.Mutex
	full   bool
	writes uint64
	err    error
	probes int
}

var errDiskFull = fmt.Errorf("database or disk is full: %w", storage.ErrUnavailable)

func (d *fullDisk) WriteHealth() (uint64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.writes, d.err
}

func (d *fullDisk) ProbeWrite(ctx context.Context) error {
	d.mu.Lock()
	d.probes++
	d.mu.Unlock()
	return d.write()
}

// write is a request's write: judged like every other.
func (d *fullDisk) write() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.writes++
	d.err = nil
	if d.full {
		d.err = errDiskFull
	}
	return d.err
}

func (d *fullDisk) set(full bool) {
	d.mu.Lock()
	d.full = full
	d.mu.Unlock()
}

func (d *fullDisk) probeCount() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.probes
}

// TestReadyzWhileWritesFail: /readyz answers 503 while the store's writes
// fail (the database pings fine and reads work: the old /readyz said
// ready), without writing on each probe, and 200 again once a write goes
// through, be it a request's or, with no traffic, its own probe at most
// every writeProbeEvery.
func TestReadyzWhileWritesFail(t *testing.T) {
	dir := t.TempDir()
	cfg, err := config.Parse([]byte(`issuer = "http://127.0.0.1:1"
[database]
url = "sqlite:`+filepath.Join(dir, "b.db")+`"
[providers.google]
client_id = "g"
client_secret = "s"
[[tenants]]
id = "spa"
redirect_uris = ["http://127.0.0.1:5173/cb"]
providers = ["google"]
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	inner, err := sqlite.Open(t.Context(), filepath.Join(dir, "b.db"))
	if err != nil {
		t.Fatal(err)
	}
	disk := &fullDisk{Store: inner}
	var mu sync.Mutex
	now := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	s, err := assemble(t.Context(), cfg, Options{Now: clock, Logger: slog.New(slog.DiscardHandler)}, disk)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ready := func() int {
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
		return rec.Code
	}

	steps := []struct {
		name   string
		do     func()
		want   int
		probes int // probes made so far
	}{
		{"writes working", func() { _ = disk.write() }, http.StatusOK, 0},
		{"a write refused", func() { disk.set(true); _ = disk.write() }, http.StatusServiceUnavailable, 0},
		{"no traffic, before the probe is due", func() { advance(writeProbeEvery / 2) }, http.StatusServiceUnavailable, 0},
		{"probe due, disk still full", func() { advance(writeProbeEvery) }, http.StatusServiceUnavailable, 1},
		{"right after a probe: none again", func() {}, http.StatusServiceUnavailable, 1},
		{"disk freed, probe not yet due", func() { disk.set(false) }, http.StatusServiceUnavailable, 1},
		{"probe due, succeeds", func() { advance(writeProbeEvery) }, http.StatusOK, 2},
		{"a request's write refused", func() { disk.set(true); _ = disk.write() }, http.StatusServiceUnavailable, 2},
		{"a request's write succeeds", func() { disk.set(false); _ = disk.write() }, http.StatusOK, 2},
		{"write traffic: no probe", func() { advance(writeProbeEvery / 2); _ = disk.write(); advance(writeProbeEvery / 2) }, http.StatusOK, 2},
	}
	for _, st := range steps {
		st.do()
		if got := ready(); got != st.want {
			t.Errorf("%s: /readyz %d, want %d", st.name, got, st.want)
		}
		if got := disk.probeCount(); got != st.probes {
			t.Errorf("%s: %d probe writes so far, want %d", st.name, got, st.probes)
		}
	}
}

// TestReadyzSQLiteProbe: on a real SQLite store, an idle broker's readiness
// probe write commits and leaves /readyz at 200.
func TestReadyzSQLiteProbe(t *testing.T) {
	store, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "p.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	now := time.Now()
	c := &writeCheck{store: store, now: func() time.Time { return now }}
	if err := c.check(t.Context()); err != nil {
		t.Fatal(err)
	}
	n0, _ := store.WriteHealth()
	now = now.Add(writeProbeEvery)
	if err := c.check(t.Context()); err != nil {
		t.Fatalf("probe on an idle store: %v", err)
	}
	if n, _ := store.WriteHealth(); n != n0+1 {
		t.Fatalf("writes judged after the probe: %d, want %d", n, n0+1)
	}
}
