package main

import (
	"fmt"
	"io"
	"runtime/debug"
	"strings"
)

// printVersion writes the module version and the VCS commit the binary was
// built from, as the Go toolchain stamped them (go version -m shows the
// same). A binary built outside a checkout has no commit to tell.
func printVersion(w io.Writer) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		fmt.Fprintln(w, "broker: no build information in this binary")
		return
	}
	fmt.Fprintln(w, versionLine(bi))
}

// versionLine is "broker <module> <version> commit <rev> (<time>) <go>".
func versionLine(bi *debug.BuildInfo) string {
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	line := []string{"broker", bi.Main.Path, bi.Main.Version}
	if rev := settings["vcs.revision"]; rev != "" {
		c := "commit " + rev
		if t := settings["vcs.time"]; t != "" {
			c += " (" + t + ")"
		}
		if settings["vcs.modified"] == "true" {
			c += " with uncommitted changes"
		}
		line = append(line, c)
	} else {
		// go build stamps it only in a checkout whose .git is a directory
		// (not a git worktree) and without -buildvcs=false.
		line = append(line, "commit unknown (built without VCS stamping)")
	}
	return strings.Join(append(line, bi.GoVersion), " ")
}
