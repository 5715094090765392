package admin_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/socialbroker/broker/internal/admin"
	"github.com/socialbroker/broker/internal/domains/dnstest"
	"github.com/socialbroker/broker/internal/server"
	"github.com/socialbroker/broker/internal/server/servertest"
	"github.com/socialbroker/broker/providers/providertest"
	"github.com/socialbroker/broker/storage"
)

// The admin API's tests run a real broker on a real listener
// (servertest), with a fake OpenID Connect upstream, a test DNS server and
// a database of its own, and talk to it over HTTP as an operator's
// scripts would.

const secretsKey = "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=" // 32 bytes

// harness is one running broker (servertest), with the upstream and DNS
// server its connections and domains use.
type harness struct {
	*servertest.Harness // Issuer, Cfg, Srv, Logs
	t                   *testing.T
	api                 string // where the API is: Issuer, or admin_listen's address
	corp                *providertest.OIDC
	dns                 *dnstest.Server
	// answers holds every answer's body, to be scanned for secrets.
	answers *servertest.SyncBuffer
}

// newHarness starts a broker whose config.toml has one provider ("corp")
// and one tenant ("cfg-app"); extra is appended to [admin].
func newHarness(t *testing.T, extra string) *harness {
	t.Helper()
	return startHarness(t, "", "", extra)
}

// startHarness is newHarness on the database dbURL ("": a new SQLite
// file), with top-level keys top.
func startHarness(t *testing.T, dbURL, top, extra string) *harness {
	t.Helper()
	if dbURL == "" {
		dbURL = "sqlite:" + filepath.Join(t.TempDir(), "broker.db")
	}
	h := &harness{t: t, answers: &servertest.SyncBuffer{}}
	h.corp = providertest.NewOIDC(providertest.OIDCOptions{Title: "Corp", ClientID: "corp-client", ClientSecret: "corp-secret"})
	t.Cleanup(h.corp.Close)
	h.dns = dnstest.Start(t)
	h.Harness = servertest.StartConfig(t, func(issuer string) string {
		return fmt.Sprintf(`
issuer = %q
shutdown_delay = "0s"
secrets_key = %q
%s
[database]
url = %q
[admin]
dns_resolver = %q
%s
[providers.corp]
type = "oidc"
issuer = %q
client_id = "corp-client"
client_secret = "corp-secret"
[[tenants]]
id = "cfg-app"
redirect_uris = ["http://127.0.0.1:5173/callback"]
providers = ["corp"]
`, issuer, secretsKey, top, dbURL, h.dns.Addr, extra, h.corp.URL())
	})
	h.api = h.Issuer
	if h.Cfg.AdminListen != "" {
		l, err := net.Listen("tcp", h.Cfg.AdminListen)
		if err != nil {
			t.Fatal(err)
		}
		h.api = "http://" + l.Addr().String()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- h.Srv.ServeAdmin(ctx, l) }()
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("ServeAdmin: %v", err)
			}
		})
	}
	return h
}

// replica starts another broker on the same configuration and database,
// as a second instance behind the same load balancer, and returns the
// harness's view of it: its calls go to the replica.
func (h *harness) replica() *harness {
	h.t.Helper()
	r := *h
	r.Harness = h.Via(h.AddReplica())
	r.api = r.Issuer
	return &r
}

// store opens the broker's database beside it, as `broker admin-keys`
// does.
func (h *harness) store() storage.Store {
	h.t.Helper()
	s, err := server.OpenStore(h.t.Context(), h.Cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { s.Close() })
	return s
}

// key creates an admin key on the database directly.
func (h *harness) key(tenant string, scopes ...string) string {
	h.t.Helper()
	k, _, err := admin.CreateKey(h.t.Context(), h.store(), "test", scopes, tenant, timeNow())
	if err != nil {
		h.t.Fatal(err)
	}
	return k
}

// reply is an answer of the API.
type reply struct {
	status int
	header http.Header
	raw    string
	body   map[string]any
}

// field returns a top-level member as a string ("" if absent).
func (r reply) str(name string) string {
	s, _ := r.body[name].(string)
	return s
}

// items returns a list answer's items.
func (r reply) items() []map[string]any {
	raw, _ := r.body["items"].([]any)
	out := make([]map[string]any, len(raw))
	for i, it := range raw {
		out[i], _ = it.(map[string]any)
	}
	return out
}

// problemFields lists the fields of a 422's problems.
func (r reply) problemFields() []string {
	var fields []string
	ps, _ := r.body["problems"].([]any)
	for _, p := range ps {
		m, _ := p.(map[string]any)
		f, _ := m["field"].(string)
		fields = append(fields, f)
	}
	return fields
}

// do calls the API: path is under /admin/v1, body is JSON-encoded unless
// it is a string (sent as is).
func (h *harness) do(method, path, key string, body any) reply {
	h.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			h.t.Fatal(err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, h.api+admin.Prefix+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	h.answers.Write(data)
	r := reply{status: resp.StatusCode, header: resp.Header, raw: string(data)}
	_ = json.Unmarshal(data, &r.body)
	return r
}

// must is do, failing the test unless the answer has status want.
func (h *harness) must(want int, method, path, key string, body any) reply {
	h.t.Helper()
	r := h.do(method, path, key, body)
	if r.status != want {
		h.t.Fatalf("%s %s: %d %s, want %d", method, path, r.status, r.raw, want)
	}
	return r
}

// revokeKey revokes a key on the database directly, as `broker
// admin-keys revoke` does.
func revokeKey(h *harness, id string) error {
	return admin.RevokeKey(h.t.Context(), h.store(), id, timeNow())
}

// noSecrets fails the test if any secret shows in an answer, a log line
// or the audit log.
func (h *harness) noSecrets(key string, secrets ...string) {
	h.t.Helper()
	for _, s := range secrets {
		if strings.Contains(h.answers.String(), s) {
			h.t.Errorf("secret %q appears in an answer", s)
		}
	}
	h.notLogged(key, secrets...)
}

// notLogged fails the test if any secret shows in a log line or the audit
// log (a tenant's secret is in the one answer that makes it, and nowhere
// else).
func (h *harness) notLogged(key string, secrets ...string) {
	h.t.Helper()
	audit := h.must(200, "GET", "/audit?limit=200", key, nil).raw
	for _, s := range secrets {
		if strings.Contains(h.Logs.String(), s) {
			h.t.Errorf("secret %q appears in the log", s)
		}
		if strings.Contains(audit, s) {
			h.t.Errorf("secret %q appears in the audit log", s)
		}
	}
}
