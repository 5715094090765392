package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/socialbroker/broker/storage/postgres/pgtest"
)

// TestHelpExitsZero: asking for help is not a failure, whichever way it is
// asked.
func TestHelpExitsZero(t *testing.T) {
	bin := buildBroker(t)
	for _, args := range [][]string{{"help"}, {"--help"}, {"demo", "--help"}, {"serve", "--help"}, {"migrate", "-h"}, {"admin-keys", "--help"}, {"tenants", "--help"}, {"audit", "-h"}} {
		out, err := exec.Command(bin, args...).CombinedOutput()
		if err != nil {
			t.Errorf("broker %s: %v, want exit 0\n%s", strings.Join(args, " "), err, out)
		}
		if !strings.Contains(string(out), "usage") && !strings.Contains(string(out), "Usage") {
			t.Errorf("broker %s printed no usage:\n%s", strings.Join(args, " "), out)
		}
	}
	// A wrong flag is still an error.
	out, err := exec.Command(bin, "demo", "--no-such-flag").CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() == 0 {
		t.Errorf("broker demo --no-such-flag: %v, want a non-zero exit\n%s", err, out)
	}
}

func TestVersion(t *testing.T) {
	bin := buildBroker(t)
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("broker version: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "github.com/socialbroker/broker") {
		t.Errorf("broker version = %q, want the module path", out)
	}
	// What the toolchain stamped into this very binary must show.
	meta, err := exec.Command("go", "version", "-m", bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	if _, rev, ok := strings.Cut(string(meta), "vcs.revision="); ok {
		rev, _, _ = strings.Cut(rev, "\n")
		if !strings.Contains(string(out), "commit "+rev) {
			t.Errorf("broker version = %q, want commit %s", out, rev)
		}
	}
}

func TestVersionLine(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "github.com/socialbroker/broker", Version: "v1.2.3"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "0123abcd"}, {Key: "vcs.time", Value: "2026-12-07T00:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	got := versionLine(bi)
	want := "broker github.com/socialbroker/broker v1.2.3 commit 0123abcd (2026-12-07T00:00:00Z) with uncommitted changes go1.26.0"
	if got != want {
		t.Errorf("versionLine = %q, want %q", got, want)
	}
	bi.Settings = nil
	if got := versionLine(bi); !strings.Contains(got, "commit unknown") {
		t.Errorf("versionLine without VCS = %q, want it to say the commit is unknown", got)
	}
}

// TestMigrateSaysWhatItApplied: on an empty database migrate names the
// migrations it applied; run again, it says there was nothing to apply.
// On both stores.
func TestMigrateSaysWhatItApplied(t *testing.T) {
	bin := buildBroker(t)
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			url := ""
			if store == "postgres" {
				url = pgtest.DSN(t)
			}
			cfg, dir := writeConfig(t, `issuer = "http://127.0.0.1:8080"`, url)
			out, err := exec.Command(bin, "migrate", "--config", cfg).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "applied") || !strings.Contains(string(out), "0001_") ||
				!strings.Contains(string(out), "schema version 0 -> ") {
				t.Fatalf("first migrate: %v\n%s\nwant the migrations it applied, from version 0", err, out)
			}
			out, err = exec.Command(bin, "migrate", "--config", cfg).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "nothing to apply") {
				t.Fatalf("second migrate: %v\n%s\nwant nothing to apply", err, out)
			}
			if store == "sqlite" {
				if _, err := os.Stat(filepath.Join(dir, "broker.db")); err != nil {
					t.Fatalf("migrate created no database: %v", err)
				}
			}
		})
	}
}
