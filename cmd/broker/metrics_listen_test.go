package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestServeMetricsListen runs `broker serve` with metrics_listen: two
// listeners, /metrics only on the second, and SIGTERM stops both.
func TestServeMetricsListen(t *testing.T) {
	bin := buildBroker(t)
	addr, maddr := freeAddr(t), freeAddr(t)
	base, metrics := "http://"+addr, "http://"+maddr
	cfg, _ := writeConfig(t, fmt.Sprintf("issuer = %q\nlisten = %q\nmetrics_listen = %q\nshutdown_delay = \"100ms\"\n", base, addr, maddr), "")
	cmd := startServe(t, bin, cfg, base)

	for _, tt := range []struct {
		url  string
		want int
	}{
		{base + "/metrics", http.StatusNotFound},
		{metrics + "/metrics", http.StatusOK},
		{metrics + "/readyz", http.StatusNotFound},
	} {
		resp, err := http.Get(tt.url)
		if err != nil {
			t.Fatalf("GET %s: %v", tt.url, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("GET %s: %d, want %d", tt.url, resp.StatusCode, tt.want)
		}
		if tt.want == http.StatusOK && !strings.Contains(string(body), `route="/readyz"`) {
			t.Errorf("GET %s does not count the main listener's requests:\n%.500s", tt.url, body)
		}
	}

	cmd.Process.Signal(syscall.SIGTERM)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("after SIGTERM: %v, want a clean exit", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the broker did not stop on SIGTERM")
	}
	if _, err := http.Get(metrics + "/metrics"); err == nil {
		t.Error("the metrics listener outlived the broker")
	}
}
