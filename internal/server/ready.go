package server

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/socialbroker/broker/storage/postgres"
	"github.com/socialbroker/broker/storage/sqlite"
)

// writeHealth is a store that knows whether its writes are failing (disk
// full, I/O errors, connection lost) from the outcome of the writes it
// makes anyway, so that readiness need not write on every probe. Both
// storage/sqlite and storage/postgres are one.
type writeHealth interface {
	// WriteHealth returns how many writes the store has judged so far and,
	// if the latest failed because the database could not take it, its
	// error (wrapping storage.ErrUnavailable).
	WriteHealth() (writes uint64, err error)
	// ProbeWrite makes a tiny write that leaves nothing behind; its
	// outcome is judged like any other write's.
	ProbeWrite(ctx context.Context) error
}

// Bounds on readiness's own writes. With write traffic, its outcome is
// the verdict and readiness writes nothing. Without any for
// writeProbeEvery (an idle broker, or one the load balancer took out of
// rotation because its writes failed), a readiness check makes one tiny
// write of its own, so that a disk that filled up while idle, or was
// freed since, is noticed within that time.
const (
	writeProbeEvery   = 10 * time.Second
	writeProbeTimeout = 2 * time.Second
)

// writeCheck judges, for /readyz, whether the store takes writes.
type writeCheck struct {
	store writeHealth
	now   func() time.Time

	mu     sync.Mutex // one probe at a time; checks wait for it
	seen   uint64     // the store's write count at the last look
	seenAt time.Time  // when that count last moved, or a probe ran
}

// check returns nil if the latest write the store judged went through,
// else that write's error.
func (c *writeCheck) check(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	n, err := c.store.WriteHealth()
	if n != c.seen || c.seenAt.IsZero() {
		c.seen, c.seenAt = n, now
		return err
	}
	if now.Sub(c.seenAt) < writeProbeEvery {
		return err
	}
	c.seenAt = now
	ctx, cancel := context.WithTimeout(ctx, writeProbeTimeout)
	defer cancel()
	_ = c.store.ProbeWrite(ctx) // its outcome is in WriteHealth, if it says anything
	c.seen, err = c.store.WriteHealth()
	return err
}

var (
	_ writeHealth = (*sqlite.Store)(nil)
	_ writeHealth = (*postgres.Store)(nil)
)

// healthz says the process is alive.
func (s *Server) healthz(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
}

// readyz says whether this replica can serve: not shutting down,
// database reachable and taking writes, signing keys loaded.
func (s *Server) readyz(c echo.Context) error {
	if s.draining.Load() {
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "shutting down"})
	}
	if err := s.store.Ping(c.Request().Context()); err != nil {
		s.log.Warn("not ready: database unreachable", "err", err)
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "database unreachable"})
	}
	if s.writes != nil {
		if err := s.writes.check(c.Request().Context()); err != nil {
			s.log.Warn("not ready: database not taking writes", "err", err)
			return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "database not taking writes"})
		}
	}
	if !s.keys.Loaded() {
		return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": "signing keys not loaded"})
	}
	return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
}
