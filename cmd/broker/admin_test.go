package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// cli runs the broker binary and returns its stdout; a failure's stderr
// comes back as the error.
func cli(t *testing.T, bin string, env []string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("%v: %s", err, stderr.String())
	}
	return string(out), nil
}

func mustCLI(t *testing.T, bin string, env []string, args ...string) string {
	t.Helper()
	out, err := cli(t, bin, env, args...)
	if err != nil {
		t.Fatalf("broker %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// TestAdminCLI: the first key made on the database, then a round trip of
// the admin API clients against a running broker.
func TestAdminCLI(t *testing.T) {
	bin := buildBroker(t)
	addr := freeAddr(t)
	base := "http://" + addr
	cfg, dir := writeConfig(t, fmt.Sprintf("issuer = %q\nlisten = %q\nsecrets_key = \"AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=\"\n[admin]\nallow_private_networks = true\n", base, addr), "")

	out := mustCLI(t, bin, nil, "admin-keys", "create", "--config", cfg, "--name", "ops", "--scope", "admin")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	key := lines[len(lines)-1]
	m := regexp.MustCompile(`^bk_([a-z2-7]{16})_[A-Za-z0-9_-]{43}$`).FindStringSubmatch(key)
	if m == nil {
		t.Fatalf("admin-keys create: last line %q is not a key:\n%s", key, out)
	}
	id := m[1]
	if _, err := cli(t, bin, nil, "admin-keys", "create", "--config", cfg, "--name", "x", "--scope", "root"); err == nil || !strings.Contains(err.Error(), "root") {
		t.Errorf("an unknown scope: %v, want an error naming it", err)
	}
	list := mustCLI(t, bin, nil, "admin-keys", "list", "--config", cfg)
	if !strings.Contains(list, id) || !strings.Contains(list, "ops") || strings.Contains(list, key[20:]) {
		t.Errorf("admin-keys list:\n%s\nwant the id and name, never the secret", list)
	}

	startServe(t, bin, cfg, base)
	env := []string{"BROKER_ADMIN_KEY=" + key, "BROKER_SERVER=" + base}

	// The key never goes in clear text to a host that is not loopback.
	for _, server := range []string{"http://broker.example:8080", "http://10.0.0.5"} {
		if _, err := cli(t, bin, []string{"BROKER_ADMIN_KEY=" + key}, "tenants", "list", "--server", server); err == nil || !strings.Contains(err.Error(), "plain http") {
			t.Errorf("--server %s: %v, want a refusal naming plain http", server, err)
		}
	}

	out = mustCLI(t, bin, env, "tenants", "create", "--data", `{"id":"cli-app","redirect_uris":["https://cli.example/cb"],"providers":["google"],"confidential":true}`)
	if !regexp.MustCompile(`(?m)^client_secret\s+\S{43}$`).MatchString(out) {
		t.Errorf("tenants create: no client_secret shown:\n%s", out)
	}
	out = mustCLI(t, bin, env, "tenants", "list")
	if !regexp.MustCompile(`(?m)^ID\s+NAME\s+CONFIDENTIAL`).MatchString(out) || !regexp.MustCompile(`(?m)^cli-app\s+cli-app\s+true\s+api\s+google$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^spa\s+spa\s+false\s+config`).MatchString(out) {
		t.Errorf("tenants list:\n%s", out)
	}
	var listed struct{ Items []map[string]any }
	if err := json.Unmarshal([]byte(mustCLI(t, bin, env, "tenants", "list", "--json")), &listed); err != nil || len(listed.Items) != 3 { // with broker-console, the console's tenant
		t.Errorf("tenants list --json: %v %v", err, listed)
	}
	out = mustCLI(t, bin, env, "tenants", "patch", "cli-app", "--data", `{"name":"CLI App"}`, "--json")
	if !strings.Contains(out, `"name": "CLI App"`) {
		t.Errorf("tenants patch --json:\n%s", out)
	}
	_, err := cli(t, bin, env, "tenants", "create", "--data", `{"id":"bad","redirect_uris":["http://evil.example/cb"],"providers":["google"]}`)
	if err == nil || !strings.Contains(err.Error(), "redirect_uris[0]") || !strings.Contains(err.Error(), "422") {
		t.Errorf("tenants create with a bad redirect URI: %v, want the 422 and the field", err)
	}

	conn := filepath.Join(dir, "conn.json")
	if err := os.WriteFile(conn, []byte(`{"id":"okta","type":"oidc","issuer":"https://idp.example","client_id":"c","client_secret":"cli-conn-secret","tenant":"cli-app"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	mustCLI(t, bin, env, "connections", "create", "--data", "@"+conn)
	out = mustCLI(t, bin, env, "connections", "get", "okta")
	if strings.Contains(out, "cli-conn-secret") || !regexp.MustCompile(`(?m)^secrets_set\s+client_secret$`).MatchString(out) {
		t.Errorf("connections get:\n%s", out)
	}
	out = mustCLI(t, bin, env, "domains", "add", "okta", "cli.example")
	if !regexp.MustCompile(`(?m)^txt_name\s+_broker-verify\.cli\.example$`).MatchString(out) {
		t.Errorf("domains add:\n%s", out)
	}
	if out = mustCLI(t, bin, env, "domains", "list", "okta"); !regexp.MustCompile(`(?m)^cli\.example\s+false\s+`).MatchString(out) {
		t.Errorf("domains list:\n%s", out)
	}
	if out = mustCLI(t, bin, env, "users", "list"); strings.TrimSpace(out) != "ID  EMAIL  NAME  DISABLED" {
		t.Errorf("users list with no users: %q", out)
	}
	out = mustCLI(t, bin, env, "audit", "--type", "tenant.created")
	if !regexp.MustCompile(`(?m)^\S+\s+tenant\.created\s+key:` + id + `\s+cli-app`).MatchString(out) {
		t.Errorf("audit --type tenant.created:\n%s", out)
	}
	if out = mustCLI(t, bin, env, "tenants", "delete", "cli-app"); strings.TrimSpace(out) != "done" {
		t.Errorf("tenants delete: %q", out)
	}

	mustCLI(t, bin, nil, "admin-keys", "revoke", "--config", cfg, id)
	if _, err := cli(t, bin, env, "tenants", "list"); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("a revoked key: %v, want a 401", err)
	}
	if _, err := cli(t, bin, []string{"BROKER_ADMIN_KEY=", "BROKER_SERVER=" + base}, "tenants", "list"); err == nil || !strings.Contains(err.Error(), "BROKER_ADMIN_KEY") {
		t.Errorf("no key: %v, want an error naming BROKER_ADMIN_KEY", err)
	}
}
