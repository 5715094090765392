package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/socialbroker/broker/internal/config"
	"github.com/socialbroker/broker/internal/server"
	"github.com/socialbroker/broker/storage"
)

// readmeBlocks returns the sh blocks of the README section titled title.
func readmeBlocks(t *testing.T, title string) []string {
	t.Helper()
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "\n## "+title+"\n")
	if !ok {
		t.Fatalf("README has no section %q", title)
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var blocks []string
	for _, m := range regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(section, -1) {
		blocks = append(blocks, m[1])
	}
	return blocks
}

// TestReadmeOnboarding runs the curl and CLI examples of the README's
// "Onboarding tenants", in order, against a running broker: the README
// cannot drift from the API.
func TestReadmeOnboarding(t *testing.T) {
	blocks := readmeBlocks(t, "Onboarding tenants")
	if len(blocks) < 5 {
		t.Fatalf("found %d sh blocks", len(blocks))
	}
	bin := buildBroker(t)
	addr := freeAddr(t)
	base := "http://" + addr
	cfg, dir := writeConfig(t, fmt.Sprintf("issuer = %q\nlisten = %q\nsecrets_key = \"AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=\"\n[admin]\nallow_private_networks = true\n", base, addr), "")
	// The user the examples disable, as a sign-in would have made him.
	c, err := config.Load(cfg, os.Getenv)
	if err != nil {
		t.Fatal(err)
	}
	store, err := server.OpenStore(t.Context(), c)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	err = store.CreateUser(t.Context(), storage.User{ID: "u-bob", Email: "bob@acme.example", EmailVerified: true, CreatedAt: now, UpdatedAt: now},
		storage.Identity{UserID: "u-bob", Provider: "google", Subject: "g-bob", Email: "bob@acme.example", EmailVerified: true, CreatedAt: now, UpdatedAt: now})
	store.Close()
	if err != nil {
		t.Fatal(err)
	}
	startServe(t, bin, cfg, base)

	script := "set -euo pipefail\n" + strings.Join(blocks, "\n")
	// The examples' own address, and broker on the PATH.
	script = strings.ReplaceAll(script, "http://127.0.0.1:8080", base)
	cmd := exec.Command("bash", "-c", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the README's examples failed: %v\n%s", err, out)
	}
	for _, want := range []string{`"client_secret"`, `"txt_name":"_broker-verify.acme.example"`, `"disabled":true`, "acme-okta", "user.disabled"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the examples' output lacks %s:\n%s", want, out)
		}
	}
}
