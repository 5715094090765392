package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// stopGrace is how long a child has to exit after SIGTERM before it is
// killed. The broker drains in-flight requests on SIGTERM.
const stopGrace = 10 * time.Second

// child is a process this tool started. stop ends it; if this tool dies
// first, the kernel kills it (setDeathSignal, Linux), and hidden-mode
// children also exit when their stdin, a pipe from this tool, closes.
type child struct {
	name    string
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	stdout  *os.File // read end of the child's stdout, if it prints its address
	logPath string   // the child's stderr
	done    chan struct{}
	err     error // the exit status, once done is closed
}

// childSpec says what to start.
type childSpec struct {
	name    string // for messages
	logPath string // where its stderr goes
	bin     string
	args    []string
	// printsAddress: the child prints its address as one JSON line on
	// stdout (the hidden modes), which is piped to readJSONLine. Any
	// other child's stdout goes to logPath too.
	printsAddress bool
}

// startChild starts a process as spec says.
func startChild(spec childSpec) (*child, error) {
	logFile, err := os.Create(spec.logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child holds its own descriptor
	cmd := exec.Command(spec.bin, spec.args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	setDeathSignal(cmd.SysProcAttr)
	c := &child{name: spec.name, cmd: cmd, logPath: spec.logPath, done: make(chan struct{})}
	var w *os.File
	if spec.printsAddress {
		// An os.Pipe rather than cmd.StdoutPipe: Wait must not close the
		// read end while the first line may still be unread.
		if c.stdout, w, err = os.Pipe(); err != nil {
			return nil, err
		}
		cmd.Stdout = w
	}
	closePipe := func() {
		if w != nil {
			w.Close()
			c.stdout.Close()
		}
	}
	if c.stdin, err = cmd.StdinPipe(); err != nil {
		closePipe()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		closePipe()
		return nil, fmt.Errorf("start %s: %w", spec.name, err)
	}
	if w != nil {
		w.Close() // the child has its copy
	}
	go func() {
		c.err = cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

// pid is the child's process id.
func (c *child) pid() int { return c.cmd.Process.Pid }

// exited reports whether the child has ended.
func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// readJSONLine decodes the first line the child prints on stdout into v,
// waiting at most timeout, then discards the rest of its stdout.
func (c *child) readJSONLine(v any, timeout time.Duration) error {
	type line struct {
		b   []byte
		err error
	}
	got := make(chan line, 1)
	go func() {
		br := bufio.NewReader(c.stdout)
		b, err := br.ReadBytes('\n')
		got <- line{b, err}
		_, _ = io.Copy(io.Discard, br)
	}()
	select {
	case l := <-got:
		if l.err != nil {
			return fmt.Errorf("%s printed no address (%v)%s", c.name, l.err, c.logTail())
		}
		if err := json.Unmarshal(l.b, v); err != nil {
			return fmt.Errorf("%s: read its address: %w", c.name, err)
		}
		return nil
	case <-time.After(timeout):
		return fmt.Errorf("%s printed no address within %s%s", c.name, timeout, c.logTail())
	}
}

// stop asks the child to exit (stdin closed, SIGTERM) and kills it if it
// has not within stopGrace.
func (c *child) stop() error {
	if c == nil {
		return nil
	}
	if c.stdout != nil {
		defer c.stdout.Close()
	}
	_ = c.stdin.Close()
	if !c.exited() {
		_ = c.cmd.Process.Signal(syscall.SIGTERM)
	}
	select {
	case <-c.done:
	case <-time.After(stopGrace):
		_ = c.cmd.Process.Kill()
		<-c.done
		return fmt.Errorf("%s did not stop within %s: killed", c.name, stopGrace)
	}
	var exit *exec.ExitError
	if errors.As(c.err, &exit) && !exit.Exited() {
		// Ended by a signal: ours, or the terminal's Ctrl-C.
		return nil
	}
	return c.err
}

// logTail is the end of the child's stderr, for error messages.
func (c *child) logTail() string {
	b, err := os.ReadFile(c.logPath)
	if err != nil || len(b) == 0 {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	lines = lines[max(0, len(lines)-15):]
	var buf bytes.Buffer
	fmt.Fprintf(&buf, "\n--- last lines of %s (%s) ---\n", c.name, c.logPath)
	for _, l := range lines {
		if len(l) > 400 {
			l = l[:400] + "..."
		}
		buf.WriteString(l + "\n")
	}
	return buf.String()
}

// waitForParent blocks a hidden-mode child until its parent closes stdin
// (or dies) or a signal arrives.
func waitForParent(sig <-chan os.Signal) {
	eof := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(eof)
	}()
	select {
	case <-eof:
	case <-sig:
	}
}
