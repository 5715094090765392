package main

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/socialbroker/broker/providers/providertest"
	"github.com/socialbroker/broker/storage/postgres/pgtest"
	"github.com/socialbroker/broker/tokens"
)

// brokerProcess is the real binary serving a config file.
type brokerProcess struct {
	t    *testing.T
	bin  string
	cfg  string
	base string
	cmd  *exec.Cmd
}

func (p *brokerProcess) start() {
	p.t.Helper()
	p.cmd = exec.Command(p.bin, "serve", "--config", p.cfg)
	p.cmd.Stdout, p.cmd.Stderr = io.Discard, io.Discard
	if err := p.cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	waitReady(p.t, p.base)
}

func (p *brokerProcess) kill() {
	p.cmd.Process.Kill() // SIGKILL: no shutdown, no flush, nothing graceful
	p.cmd.Wait()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestCrashDuringRefreshLoad kills the broker with SIGKILL while clients
// rotate their refresh tokens, restarts it, and checks that every client's
// chain goes on: the token each client holds (the last one it received, or
// the one whose answer the crash swallowed) still refreshes.
func TestCrashDuringRefreshLoad(t *testing.T) {
	bin := buildBroker(t)
	google := providertest.NewOIDC(providertest.OIDCOptions{Title: "Google", ClientID: "g", ClientSecret: "gs",
		Users: []providertest.User{{Subject: "u1", Name: "U", Email: "u@example.test", EmailVerified: true}}})
	defer google.Close()
	addr := freeAddr(t)
	p := &brokerProcess{t: t, bin: bin, base: "http://" + addr, cfg: filepath.Join(t.TempDir(), "config.toml")}
	const redirect = "http://127.0.0.1:5173/callback"
	err := os.WriteFile(p.cfg, []byte(fmt.Sprintf(`
issuer = %q
listen = %q
[database]
url = %q
[tokens]
refresh_reuse_grace = "60s"
[rate_limits]              # this test is the load
token_per_ip = "0"
token_per_tenant = "0"
[providers.google]
client_id = "g"
client_secret = "gs"
issuer = %q
[[tenants]]
id = "spa"
redirect_uris = [%q]
providers = ["google"]
`, p.base, addr, pgtest.DSN(t), google.URL(), redirect)), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	p.start()
	defer p.kill()

	const clients = 8
	held := make([]string, clients)
	for i := range held {
		held[i] = signInPublic(t, p.base, "spa", redirect, google)
	}

	// Load: every client rotates its own chain as fast as it can. A
	// refresh whose answer never arrives leaves the client holding the
	// token it sent.
	var wg sync.WaitGroup
	var mu sync.Mutex
	serverErrors, rotations := 0, 0
	for i := range held {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				next, status, err := refresh(p.base, "spa", held[i])
				if err != nil {
					return // the broker died mid-request
				}
				if status != http.StatusOK {
					mu.Lock()
					serverErrors++
					mu.Unlock()
					return
				}
				held[i] = next
				mu.Lock()
				rotations++
				mu.Unlock()
			}
		}()
	}
	time.Sleep(700 * time.Millisecond)
	p.kill()
	wg.Wait()
	if serverErrors > 0 {
		t.Fatalf("%d refreshes were refused before the crash", serverErrors)
	}
	if rotations < 4*clients {
		t.Fatalf("only %d rotations before the crash: no load to speak of", rotations)
	}
	t.Logf("%d rotations, then SIGKILL", rotations)

	p.start()
	for i, rt := range held {
		next, status, err := refresh(p.base, "spa", rt)
		if err != nil || status != http.StatusOK {
			t.Fatalf("client %d after the crash: status %d, %v: its chain is broken", i, status, err)
		}
		if _, status, err := refresh(p.base, "spa", next); err != nil || status != http.StatusOK {
			t.Fatalf("client %d: the successor after the crash does not refresh: %d %v", i, status, err)
		}
	}
}

// signInPublic signs a user in as a public client and returns the refresh token.
func signInPublic(t *testing.T, base, client, redirect string, upstream *providertest.OIDC) string {
	t.Helper()
	b := make([]byte, 32)
	rand.Read(b)
	verifier := base64.RawURLEncoding.EncodeToString(b)
	upstream.SetNextUser(providertest.User{Subject: "u1", Name: "U", Email: "u@example.test", EmailVerified: true})
	q := url.Values{"response_type": {"code"}, "client_id": {client}, "redirect_uri": {redirect}, "state": {"s"},
		"code_challenge": {tokens.S256Challenge(verifier)}, "code_challenge_method": {"S256"}}
	back := followToApp(t, newBrowser(), base+"/auth/google/login?"+q.Encode(), redirect, nil)
	resp, err := http.PostForm(base+"/token", url.Values{"grant_type": {"authorization_code"}, "code": {back.Get("code")},
		"redirect_uri": {redirect}, "client_id": {client}, "code_verifier": {verifier}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tr struct {
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("token: %d %v", resp.StatusCode, err)
	}
	return tr.RefreshToken
}

// refresh runs the refresh grant; err is a transport failure.
func refresh(base, client, rt string) (string, int, error) {
	resp, err := http.Post(base+"/token", "application/x-www-form-urlencoded",
		strings.NewReader(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {client}}.Encode()))
	if err != nil {
		return "", 0, err
	}
	defer resp.Body.Close()
	var tr struct {
		RefreshToken string `json:"refresh_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil {
		return "", resp.StatusCode, err
	}
	return tr.RefreshToken, resp.StatusCode, nil
}
