package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// writeConfig writes a minimal config.toml into a fresh directory: top
// (top-level keys such as issuer and listen), the database dbURL ("" for
// a SQLite file in that directory), one provider and one tenant. It
// returns the file's path and the directory.
func writeConfig(t *testing.T, top, dbURL string) (cfg, dir string) {
	t.Helper()
	dir = t.TempDir()
	if dbURL == "" {
		dbURL = "sqlite:" + filepath.Join(dir, "broker.db")
	}
	cfg = filepath.Join(dir, "config.toml")
	err := os.WriteFile(cfg, []byte(top+`
[database]
url = "`+dbURL+`"
[providers.google]
client_id = "g"
client_secret = "gs"
[[tenants]]
id = "spa"
redirect_uris = ["http://127.0.0.1:5173/callback"]
providers = ["google"]
`), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	return cfg, dir
}

// startServe runs `broker serve --config cfg` and waits until base
// answers /readyz; the process is killed when the test ends.
func startServe(t *testing.T, bin, cfg, base string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--config", cfg)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	waitReady(t, base)
	return cmd
}
