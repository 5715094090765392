package server_test

import (
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/socialbroker/broker/internal/server/servertest"
	"github.com/socialbroker/broker/storage/postgres/pgtest"
)

// TestDatabaseOutage takes PostgreSQL away under load (every connection
// cut, new ones refused), brings it back, and checks that: requests that
// need it answered 503, never 500 or a hang; /readyz went unready; the
// broker recovered by itself; and every client's refresh chain survived.
func TestDatabaseOutage(t *testing.T) {
	proxy := pgtest.NewProxy(t, pgtest.DSN(t))
	h := servertest.Start(t, servertest.Options{DB: proxy.DSN(), TOML: `
[rate_limits]
token_per_ip = "0"
token_per_tenant = "0"
`})
	const clients = 4
	held := make([]string, clients)
	for i := range held {
		held[i] = h.SignIn("google", "spa", servertest.Alice).RefreshToken
	}
	probe := h.SignIn("google", "spa", servertest.Alice).RefreshToken // the main goroutine's own chain

	var (
		stop          atomic.Bool
		wg            sync.WaitGroup
		mu            sync.Mutex
		statuses      = map[int]int{}
		unavailableOK atomic.Int64
	)
	for i := range held {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				tr, status := h.RefreshGrant("spa", held[i])
				mu.Lock()
				statuses[status]++
				mu.Unlock()
				switch status {
				case http.StatusOK:
					held[i] = tr.RefreshToken
				case http.StatusServiceUnavailable:
					// The client keeps the token it sent and retries: the
					// rotation may or may not have committed.
					if tr.Error != "temporarily_unavailable" {
						t.Errorf("503 body %+v, want temporarily_unavailable", tr)
					}
					unavailableOK.Add(1)
					time.Sleep(20 * time.Millisecond)
				default:
					t.Errorf("refresh during the outage test: status %d %+v", status, tr)
					return
				}
			}
		}()
	}

	time.Sleep(300 * time.Millisecond)
	proxy.Down()
	start := time.Now()
	tr, status := h.RefreshGrant("spa", probe)
	if status != http.StatusServiceUnavailable {
		t.Errorf("refresh with the database down: %d %+v, want 503", status, tr)
	}
	t.Logf("refresh answered %d after %v with the database down", status, time.Since(start).Round(time.Millisecond))
	if status := h.Do(servertest.MustRequest(t, http.MethodGet, h.Issuer+"/readyz"), nil); status != http.StatusServiceUnavailable {
		t.Errorf("/readyz with the database down: %d, want 503", status)
	}
	time.Sleep(time.Second)
	proxy.Up()

	deadline := time.Now().Add(10 * time.Second)
	for h.Do(servertest.MustRequest(t, http.MethodGet, h.Issuer+"/readyz"), nil) != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("the broker did not become ready within 10s of the database coming back")
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // some load after recovery
	stop.Store(true)
	wg.Wait()
	t.Logf("statuses during the test: %v", statuses)
	if unavailableOK.Load() == 0 {
		t.Error("no request saw the outage: the test did not test anything")
	}

	for i, rt := range held {
		next, status := h.RefreshGrant("spa", rt)
		if status != http.StatusOK {
			t.Fatalf("client %d after recovery: %d %+v: its chain is broken", i, status, next)
		}
		var check servertest.CheckResponse
		if status, _ := h.GetBearer("/auth/check", next.AccessToken, &check); status != http.StatusOK {
			t.Fatalf("client %d: check after recovery: %d %+v", i, status, check)
		}
	}
}
