package server

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestUpstreamTransportKeepsConnections: concurrent sign-ins make their
// upstream calls over kept-alive connections. Three waves of 32
// simultaneous calls open 32 connections, not 32 more per wave, as
// http.DefaultTransport (two idle connections per host) would.
func TestUpstreamTransportKeepsConnections(t *testing.T) {
	const calls, waves = 32, 3
	var opened, inFlight atomic.Int64
	release := make(chan struct{})
	var mu sync.Mutex // guards release between waves
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		ch := release
		mu.Unlock()
		inFlight.Add(1)
		<-ch // every call of the wave holds its connection until all arrived
		io.WriteString(w, "ok")
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			opened.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()

	client := &http.Client{Transport: upstreamTransport(), Timeout: 10 * time.Second}
	for wave := range waves {
		inFlight.Store(0)
		var wg sync.WaitGroup
		errs := make(chan error, calls)
		for range calls {
			wg.Go(func() {
				req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, srv.URL, nil)
				resp, err := client.Do(req)
				if err != nil {
					errs <- err
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			})
		}
		deadline := time.Now().Add(10 * time.Second)
		for inFlight.Load() < calls && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		mu.Lock()
		close(release)
		release = make(chan struct{})
		mu.Unlock()
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("wave %d: %v", wave, err)
		}
	}
	if n := opened.Load(); n > calls+4 {
		t.Fatalf("%d waves of %d concurrent upstream calls opened %d connections, want about %d: idle connections are not kept", waves, calls, n, calls)
	}
}
