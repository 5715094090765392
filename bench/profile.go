package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"strconv"
	"time"
)

// profile is a CPU profile of the broker over one measured phase, taken
// from its profiler (broker serve --pprof) while the load runs.
type profile struct {
	url  string // the profiler's base URL
	path string // where the profile goes
	done chan error
}

// start asks for a profile of the next d (whole seconds, rounded up).
func (p *profile) start(ctx context.Context, d time.Duration) {
	p.done = make(chan error, 1)
	secs := int(math.Ceil(d.Seconds()))
	go func() { p.done <- p.fetch(ctx, secs) }()
}

// wait returns once the profile is written.
func (p *profile) wait() error { return <-p.done }

func (p *profile) fetch(ctx context.Context, secs int) error {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(secs)*time.Second+30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url+"/debug/pprof/profile?seconds="+strconv.Itoa(secs), nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Transport: &http.Transport{Proxy: nil}}).Do(req)
	if err != nil {
		return fmt.Errorf("cpu profile: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("cpu profile: status %d", resp.StatusCode)
	}
	f, err := os.Create(p.path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("cpu profile: %w", err)
	}
	return f.Close()
}
