// Package browsertest finds what the browser test suites (clients/js,
// internal/console) need: Node, npm and Debian's Chromium. With CI=true
// a missing one fails the test (.ci/run installs them); elsewhere the
// test is skipped with a message saying what to install.
package browsertest

import (
	"os"
	"os/exec"
	"testing"
)

// RequireNode makes sure node and npm are on the PATH; suite names the
// tests in the message.
func RequireNode(t *testing.T, suite string) {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing(t, suite, tool)
		}
	}
}

// Chromium returns the path of Debian's Chromium ($CHROMIUM_PATH, else
// /usr/bin/chromium), never a downloaded browser.
func Chromium(t *testing.T, suite string) string {
	t.Helper()
	path := os.Getenv("CHROMIUM_PATH")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := os.Stat(path); err != nil {
		missing(t, suite, "Chromium at "+path+" (apt-get install -y chromium; never a downloaded browser)")
	}
	return path
}

func missing(t *testing.T, suite, what string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is required for %s (CI=true): .ci/run installs it", what, suite)
	}
	t.Skipf("%s not found: skipping %s (they run in CI)", what, suite)
}
