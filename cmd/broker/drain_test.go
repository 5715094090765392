package main

import (
	"fmt"
	"io"
	"net/http"
	"syscall"
	"testing"
	"time"
)

// TestSIGTERMDrains: `broker serve` told to stop with SIGTERM keeps
// serving for shutdown_delay with /readyz at 503 and Connection: close on
// its responses, then exits cleanly.
func TestSIGTERMDrains(t *testing.T) {
	bin := buildBroker(t)
	addr := freeAddr(t)
	base := "http://" + addr
	cfg, _ := writeConfig(t, fmt.Sprintf("issuer = %q\nlisten = %q\nshutdown_delay = \"3s\"\n", base, addr), "")
	cmd := startServe(t, bin, cfg, base)
	exited := make(chan error, 1)

	get := func() (*http.Response, error) {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		return resp, err
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	go func() { exited <- cmd.Wait() }()
	for {
		resp, err := get()
		if err != nil {
			t.Fatalf("GET /readyz after SIGTERM: %v: the broker stopped serving at once", err)
		}
		if resp.StatusCode == http.StatusServiceUnavailable {
			if !resp.Close {
				t.Error("a response during the drain did not carry Connection: close")
			}
			break
		}
		select {
		case err := <-exited:
			t.Fatalf("the broker exited (%v) without answering /readyz 503 first", err)
		default:
		}
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("after SIGTERM: %v, want a clean exit", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the broker did not stop after its shutdown delay")
	}
}
