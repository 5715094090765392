package server_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/socialbroker/broker/internal/config"
	"github.com/socialbroker/broker/internal/server"
	"github.com/socialbroker/broker/internal/server/servertest"
)

// closeWatch is a listener that notes when it is closed: when the server
// stops accepting.
type closeWatch struct {
	net.Listener
	closed atomic.Bool
}

func (l *closeWatch) Close() error {
	l.closed.Store(true)
	return l.Listener.Close()
}

// TestShutdownDrains stops a broker (as SIGTERM does: Serve's ctx ends)
// while keep-alive clients send POSTs in a loop, and a load balancer's
// probe polls /readyz and stops sending the clients' requests there once
// it answers 503. No request sent before the broker stopped accepting may
// fail: http.Server.Shutdown called at once closed idle keep-alive
// connections under clients sending on them (resets, and a POST is not
// retried). During the drain /readyz answers 503 and responses carry
// Connection: close.
func TestShutdownDrains(t *testing.T) {
	h := servertest.New(t, "")
	cfg := *h.Cfg
	cfg.ShutdownDelay = config.Duration{Duration: 500 * time.Millisecond}
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &closeWatch{Listener: inner}
	base := "http://" + l.Addr().String()
	srv, err := server.New(t.Context(), &cfg, server.Options{Logger: servertest.NewLogger(h.Logs), Now: h.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ctx, l) }()

	const workers = 8
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}, Timeout: 10 * time.Second}
	defer client.CloseIdleConnections()
	var (
		out        atomic.Bool // the load balancer took the broker out of rotation
		saw503     atomic.Bool
		sent       atomic.Int64
		closeResps atomic.Int64 // responses with Connection: close
		mu         sync.Mutex
		failures   []string
		wg         sync.WaitGroup
	)
	form := url.Values{"grant_type": {"authorization_code"}, "code": {"none"}, "client_id": {"spa"},
		"redirect_uri": {servertest.AppRedirect}, "code_verifier": {strings.Repeat("v", 43)}}.Encode()
	for range workers {
		wg.Go(func() {
			for !out.Load() && !l.closed.Load() {
				resp, err := client.Post(base+"/token", "application/x-www-form-urlencoded", strings.NewReader(form))
				if err != nil {
					mu.Lock()
					failures = append(failures, err.Error())
					mu.Unlock()
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				sent.Add(1)
				if resp.Close {
					closeResps.Add(1)
				}
			}
		})
	}
	probe := &http.Client{Timeout: 10 * time.Second}
	wg.Go(func() {
		for !out.Load() && !l.closed.Load() {
			resp, err := probe.Get(base + "/readyz")
			if err != nil {
				continue
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusServiceUnavailable {
				saw503.Store(true)
				out.Store(true)
			}
			time.Sleep(2 * time.Millisecond)
		}
	})

	for sent.Load() < 200 { // the clients' connections are kept alive and busy
		time.Sleep(time.Millisecond)
	}
	stop() // SIGTERM
	wg.Wait()
	if err := <-served; err != nil {
		t.Errorf("Serve: %v", err)
	}
	if len(failures) > 0 {
		t.Errorf("%d of %d requests sent before the broker stopped accepting failed, e.g. %s", len(failures), sent.Load()+int64(len(failures)), failures[0])
	}
	if !saw503.Load() {
		t.Error("/readyz never answered 503 while the broker drained")
	}
	if closeResps.Load() == 0 {
		t.Error("no response during the drain carried Connection: close")
	}
	t.Logf("%d requests, %d answered with Connection: close", sent.Load(), closeResps.Load())
}
