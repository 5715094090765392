package server_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/socialbroker/broker/internal/server/servertest"
)

// TestMetricsListen: with metrics_listen set, /metrics is served on that
// listener only (and nothing else is), and the main listener answers 404
// for it; TestMetrics covers the default, /metrics on the main listener.
func TestMetricsListen(t *testing.T) {
	h := servertest.New(t, "")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ml, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := *h.Cfg
	cfg.MetricsListen = ml.Addr().String()
	srv := h.Serve(&cfg, l)
	h = h.Via("http://" + l.Addr().String())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.ServeMetrics(ctx, ml) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ServeMetrics: %v", err)
		}
	})
	metrics := "http://" + ml.Addr().String()

	h.Do(servertest.MustRequest(t, http.MethodGet, h.Issuer+"/healthz"), nil)
	for _, tt := range []struct {
		url  string
		want int
	}{
		{h.Issuer + "/metrics", http.StatusNotFound},
		{metrics + "/metrics", http.StatusOK},
		{metrics + "/healthz", http.StatusNotFound},
		{metrics + "/token", http.StatusNotFound},
	} {
		resp, err := http.Get(tt.url)
		if err != nil {
			t.Fatal(err)
		}
		body := servertest.ReadAll(t, resp)
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("GET %s: %d, want %d", tt.url, resp.StatusCode, tt.want)
		}
		if tt.want == http.StatusOK && !strings.Contains(body, `broker_http_requests_total{code="200",method="GET",route="/healthz"}`) {
			t.Errorf("GET %s does not count the main listener's requests:\n%.500s", tt.url, body)
		}
	}
}
