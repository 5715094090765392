package main

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildBroker compiles the real binary once per test run.
func buildBroker(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "broker")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func TestInvalidConfigExitsBeforeListening(t *testing.T) {
	bin := buildBroker(t)
	cfg := filepath.Join(t.TempDir(), "config.toml")
	err := os.WriteFile(cfg, []byte(`
issuer = "ftp://broker.example"
listen = "127.0.0.1:0"
[tokens]
signing_alg = "HS256"
[providers.google]
client_id = "${UNSET_CLIENT_ID_FOR_TEST}"
client_secret = "x"
[[tenants]]
id = "a"
redirect_uri = "http://localhost/cb"
providers = ["google"]
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "--config", cfg)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() == 0 {
		t.Fatalf("serve with a bad config: err %v, want a non-zero exit", err)
	}
	for _, key := range []string{"issuer", "tokens.signing_alg", "providers.google.client_id", "UNSET_CLIENT_ID_FOR_TEST", "tenants[0].redirect_uri"} {
		if !strings.Contains(string(out), key) {
			t.Errorf("error output does not name %s:\n%s", key, out)
		}
	}
	if strings.Contains(string(out), "listening") {
		t.Errorf("the broker started listening with a bad config:\n%s", out)
	}
}

// TestDemo runs `broker demo` as a user would, signs in through the fake
// GitHub's chooser page (no test hooks), and stops it with SIGTERM.
func TestDemo(t *testing.T) {
	bin := buildBroker(t)
	cmd := exec.Command(bin, "demo", "--listen", "127.0.0.1:0")
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	demoURL := waitForLine(t, stdout, regexp.MustCompile(`Open (http://\S+)`))
	base := strings.TrimSuffix(demoURL, "/demo/")

	browser := newBrowser()
	resp, err := browser.Get(demoURL)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %v %v", demoURL, resp, err)
	}
	resp.Body.Close()

	q := url.Values{
		"response_type": {"code"}, "client_id": {"demo"}, "redirect_uri": {base + "/demo/callback"},
		"state": {"st"}, "code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"},
	}
	// Broker -> fake GitHub chooser; pick alice (login_as) -> broker callback -> demo page.
	pickAlice := func(loc string) string {
		if strings.Contains(loc, "/login/oauth/authorize") && !strings.Contains(loc, "login_as=") {
			return loc + "&login_as=1001"
		}
		return loc
	}
	cb := followToApp(t, browser, base+"/auth/github/login?"+q.Encode(), base+"/demo/callback", pickAlice)
	if cb.Get("code") == "" || cb.Get("state") != "st" {
		t.Fatalf("demo sign-in ended with %v, want a code and the state", cb)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("demo exited with %v after SIGTERM, want 0", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("demo did not stop after SIGTERM")
	}
}
