//go:build unix

package browsertest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// NPM runs npm in dir ("" for the test's own directory) with env added,
// and returns its output; it fails the test with the whole output if npm
// fails. npm runs in its own process group, so that a timeout also stops
// what it started (the broker, Chromium).
func NPM(ctx context.Context, t *testing.T, dir string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.CommandContext(ctx, "npm", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("npm %s: %v after %s\n%s", strings.Join(args, " "), err, time.Since(start).Round(time.Millisecond), out.String())
	}
	t.Logf("npm %s: %s", strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	return out.String()
}
