package server_test

import (
	"net"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/socialbroker/broker/internal/server/servertest"
	"github.com/socialbroker/broker/storage/postgres/pgtest"
)

// onReplica rewrites a URL of the public issuer to the replica at base.
func onReplica(u *url.URL, base string) string {
	b, _ := url.Parse(base)
	c := *u
	c.Host = b.Host
	return c.String()
}

// TestReplicas runs two brokers on one PostgreSQL, as behind a load balancer.
func TestReplicas(t *testing.T) {
	h := servertest.Start(t, servertest.Options{DB: pgtest.DSN(t)})
	a := h.Issuer
	b := h.AddReplica()

	t.Run("login started on A finishes on B", func(t *testing.T) {
		br := h.NewBrowser()
		p := servertest.NewPKCE()
		h.Google.SetNextUser(servertest.Alice)
		cb := br.UpstreamCallback(h, h.AuthorizeURL("/auth/google/login", "spa", p, nil))
		resp := br.Get(onReplica(cb, b))
		resp.Body.Close()
		loc, _ := url.Parse(resp.Header.Get("Location"))
		if resp.StatusCode != http.StatusFound || loc == nil || loc.Query().Get("code") == "" {
			t.Fatalf("callback on B: %d %q", resp.StatusCode, resp.Header.Get("Location"))
		}
		// Redeemed on A, checked on B: keys and sessions are shared.
		tr, status := h.Via(a).Redeem("spa", loc.Query().Get("code"), p.Verifier)
		if status != http.StatusOK {
			t.Fatalf("redeem on A: %d %+v", status, tr)
		}
		if status, _ := h.Via(b).GetBearer("/auth/check", tr.AccessToken, nil); status != http.StatusOK {
			t.Fatalf("A's token on B: %d", status)
		}
	})

	t.Run("reuse detected across replicas", func(t *testing.T) {
		tr := h.SignIn("google", "spa", servertest.Alice)
		next, status := h.Via(a).RefreshGrant("spa", tr.RefreshToken)
		if status != http.StatusOK {
			t.Fatalf("refresh on A: %d", status)
		}
		// The client goes on with its successor: the first token is stale.
		if next, status = h.Via(a).RefreshGrant("spa", next.RefreshToken); status != http.StatusOK {
			t.Fatalf("second refresh on A: %d", status)
		}
		h.Clock.Advance(11 * time.Second)
		defer h.Clock.Advance(-11 * time.Second)
		if got, status := h.Via(b).RefreshGrant("spa", tr.RefreshToken); status != http.StatusBadRequest || got.Error != "invalid_grant" {
			t.Fatalf("stale token on B: %d %+v, want invalid_grant", status, got)
		}
		if _, status := h.Via(a).RefreshGrant("spa", next.RefreshToken); status != http.StatusBadRequest {
			t.Errorf("the family survived theft detection on the other replica: %d", status)
		}
	})

	t.Run("50 concurrent refreshes across replicas share one successor", func(t *testing.T) {
		tr := h.SignIn("google", "spa", servertest.Alice)
		var wg sync.WaitGroup
		got := make([]servertest.TokenResponse, 50)
		status := make([]int, 50)
		for i := range got {
			wg.Add(1)
			go func() {
				defer wg.Done()
				target := a
				if i%2 == 1 {
					target = b
				}
				got[i], status[i] = h.Via(target).RefreshGrant("spa", tr.RefreshToken)
			}()
		}
		wg.Wait()
		for i := range got {
			if status[i] != http.StatusOK || got[i].RefreshToken != got[0].RefreshToken {
				t.Fatalf("refresh %d: %d, successor %.12q..., want 200 and %.12q...", i, status[i], got[i].RefreshToken, got[0].RefreshToken)
			}
		}
	})

	t.Run("logout on B is refused by A within a second", func(t *testing.T) {
		tr := h.SignIn("google", "spa", servertest.Alice)
		if status, _ := h.Via(a).GetBearer("/auth/check", tr.AccessToken, nil); status != http.StatusOK {
			t.Fatalf("check on A before logout: %d", status)
		}
		req := servertest.MustRequest(t, http.MethodPost, b+"/auth/logout")
		req.Header.Set("Authorization", "Bearer "+tr.AccessToken)
		if status := h.Do(req, nil); status != http.StatusOK {
			t.Fatalf("logout on B: %d", status)
		}
		deadline := time.Now().Add(time.Second)
		for {
			status, _ := h.Via(a).GetBearer("/auth/check", tr.AccessToken, nil)
			if status == http.StatusUnauthorized {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("A still accepts the session a second after logout on B (status %d)", status)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})

	t.Run("one JWKS", func(t *testing.T) {
		var ja, jb struct{ Keys []map[string]any }
		h.Do(servertest.MustRequest(t, http.MethodGet, a+"/.well-known/jwks.json"), &ja)
		h.Do(servertest.MustRequest(t, http.MethodGet, b+"/.well-known/jwks.json"), &jb)
		if len(ja.Keys) != 1 || len(jb.Keys) != 1 || ja.Keys[0]["kid"] != jb.Keys[0]["kid"] {
			t.Errorf("JWKS A %v, B %v: want the same single key", ja.Keys, jb.Keys)
		}
	})
}

// Replica clocks a little apart must not sign users out: a replica whose
// clock is behind accepts the access tokens a faster one just minted
// (their iat is up to a second "in the future", whole seconds) and hands
// two tabs the same successor within the reuse grace.
func TestReplicaClockSkew(t *testing.T) {
	h := servertest.New(t, "")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.ServeAt(h.Cfg, l, func() time.Time { return h.Clock.Now().Add(-1300 * time.Millisecond) })
	slow := "http://" + l.Addr().String()

	tr := h.SignIn("google", "spa", servertest.Alice) // minted by the replica on time
	fast := h.Issuer
	h.Issuer = slow
	var check servertest.CheckResponse
	if status, _ := h.GetBearer("/auth/check", tr.AccessToken, &check); status != http.StatusOK {
		t.Fatalf("check on the replica 1.3 s behind: status %d %+v, want 200", status, check)
	}
	// Two tabs: the fast replica rotates, the slow one sees the same
	// token again "before" it was used.
	h.Issuer = fast
	first, status := h.RefreshGrant("spa", tr.RefreshToken)
	if status != http.StatusOK {
		t.Fatalf("refresh: %d", status)
	}
	h.Issuer = slow
	second, status := h.RefreshGrant("spa", tr.RefreshToken)
	if status != http.StatusOK || second.RefreshToken != first.RefreshToken {
		t.Fatalf("the other tab's refresh on the slow replica: %d, same successor %v; want 200 and the same successor", status, second.RefreshToken == first.RefreshToken)
	}
}
