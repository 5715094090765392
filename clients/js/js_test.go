//go:build unix

// Package js holds the JavaScript client (@socialbroker/client), its
// example app and their tests. This Go test runs them from `go test
// ./...`: npm ci when node_modules is missing or older than
// package-lock.json; the build (npm pack's prepare) and the package's
// contents checked against exports; the README's quick start against the
// installed tarball; the unit tests (node --test); and the browser tests
// (Debian's Chromium driven by playwright-core against a real `broker
// demo`: the example app; single sign-on and sign-out between two copies
// of it on two sites, tenants example and example-b; and a page signing in
// with the third-party oidc-client-ts).
//
// With CI=true a missing Node, npm or Chromium fails the test; elsewhere it
// skips with a message. -short skips the browser tests.
package js

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/socialbroker/broker/internal/browsertest"
)

func TestJSClient(t *testing.T) {
	const suite = "the JavaScript client's tests"
	browsertest.RequireNode(t, suite)
	ctx, cancel := context.WithTimeout(t.Context(), 9*time.Minute)
	defer cancel()

	if stale, why := nodeModulesStale(); stale {
		t.Logf("npm ci (%s)", why)
		browsertest.NPM(ctx, t, "", nil, "ci", "--no-audit", "--no-fund")
	}
	// The package as an app installs it. check:pack runs npm pack, whose
	// prepare script is the build, and checks that the pack ships every
	// file exports names, types included; check:quickstart installs the
	// tarball with npm install and type-checks the README's quick start.
	t.Run("build+pack", func(t *testing.T) {
		t.Log(strings.TrimSpace(lastLine(browsertest.NPM(ctx, t, "", nil, "run", "--silent", "check:pack"))))
		for _, f := range []string{"index.js", "index.d.ts", "refine.d.ts", "axios.d.ts"} {
			if _, err := os.Stat(filepath.Join("dist", f)); err != nil {
				t.Errorf("npm pack (prepare) did not build dist/%s", f)
			}
		}
	})
	t.Run("quickstart", func(t *testing.T) {
		t.Log(strings.TrimSpace(lastLine(browsertest.NPM(ctx, t, "", nil, "run", "--silent", "check:quickstart"))))
	})
	t.Run("unit", func(t *testing.T) {
		summary(t, browsertest.NPM(ctx, t, "", nil, "test"))
	})
	t.Run("browser", func(t *testing.T) {
		if testing.Short() {
			t.Skip("-short: browser tests skipped")
		}
		chromium := browsertest.Chromium(t, suite)
		bin := filepath.Join(t.TempDir(), "broker")
		goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
		build := exec.CommandContext(ctx, goBin, "build", "-o", bin, "github.com/socialbroker/broker/cmd/broker")
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build ./cmd/broker: %v\n%s", err, out)
		}
		summary(t, browsertest.NPM(ctx, t, "", []string{"BROKER_BIN=" + bin, "CHROMIUM_PATH=" + chromium}, "run", "test:browser"))
	})
}

// nodeModulesStale reports whether npm ci is needed: no node_modules, or a
// package-lock.json newer than the install (npm writes
// node_modules/.package-lock.json on every install).
func nodeModulesStale() (bool, string) {
	lock, err := os.Stat("package-lock.json")
	if err != nil {
		return true, "no package-lock.json"
	}
	installed, err := os.Stat(filepath.Join("node_modules", ".package-lock.json"))
	switch {
	case err != nil:
		return true, "node_modules is missing"
	case installed.ModTime().Before(lock.ModTime()):
		return true, "package-lock.json changed since the last install"
	}
	return false, ""
}

// summary logs node's test runner totals ("# pass 62").
func summary(t *testing.T, out string) {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "# tests ") || strings.HasPrefix(line, "# pass ") || strings.HasPrefix(line, "# fail ") {
			t.Log(strings.TrimPrefix(line, "# "))
		}
	}
}

// lastLine is the last non-empty line of out.
func lastLine(out string) string {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	return lines[len(lines)-1]
}
