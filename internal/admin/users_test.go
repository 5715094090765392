package admin_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/socialbroker/broker/storage"
)

// seedUser stores a user with one identity and a live session in each of
// tenants, and returns the sessions' ids.
func seedUser(t *testing.T, s storage.Store, id, email string, tenants ...string) []string {
	t.Helper()
	now := time.Now()
	u := storage.User{ID: id, Name: id, Email: email, EmailVerified: true, CreatedAt: now, UpdatedAt: now}
	if err := s.CreateUser(t.Context(), u, storage.Identity{UserID: id, Provider: "corp", Subject: "sub-" + id, Email: email,
		EmailVerified: true, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	var sids []string
	for i, tenant := range tenants {
		sid := id + "-s" + string(rune('0'+i))
		err := s.CreateSession(t.Context(), storage.NewSession{Session: storage.Session{ID: sid, UserID: id, TenantID: tenant,
			Provider: "corp", Scope: "openid", AuthTime: now, CreatedAt: now.Add(time.Duration(i) * time.Second), ExpiresAt: now.Add(time.Hour)}})
		if err != nil {
			t.Fatal(err)
		}
		sids = append(sids, sid)
	}
	return sids
}

func TestUsersAndSessions(t *testing.T) {
	h := newHarness(t, "")
	key := h.key("", "admin")
	h.must(201, "POST", "/tenants", key, map[string]any{"id": "a", "redirect_uris": []string{"https://a.example/cb"}, "providers": []string{"corp"}})
	s := h.store()
	alice := seedUser(t, s, "alice", "alice@acme.example", "cfg-app", "a")
	// An identity at a provider tenant a does not offer.
	if err := s.AddIdentity(t.Context(), storage.Identity{UserID: "alice", Provider: "elsewhere", Subject: "e-1",
		CreatedAt: time.Now(), UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	bob := seedUser(t, s, "bob", "bob@other.example", "a")

	ids := func(r reply) []string {
		var out []string
		for _, it := range r.items() {
			out = append(out, it["id"].(string))
		}
		return out
	}
	if got := ids(h.must(200, "GET", "/users?email=ALICE@acme.example", key, nil)); !slices.Equal(got, []string{"alice"}) {
		t.Errorf("search by email: %v, want alice", got)
	}
	if got := ids(h.must(200, "GET", "/users?tenant=a", key, nil)); !slices.Equal(got, []string{"alice", "bob"}) {
		t.Errorf("users of a: %v", got)
	}
	p1 := h.must(200, "GET", "/users?limit=1", key, nil)
	p2 := h.must(200, "GET", "/users?limit=1&cursor="+p1.str("next_cursor"), key, nil)
	if got := append(ids(p1), ids(p2)...); !slices.Equal(got, []string{"alice", "bob"}) || p2.str("next_cursor") != "" {
		t.Errorf("two pages of one: %v, last page's cursor %q", got, p2.str("next_cursor"))
	}
	if r := h.do("GET", "/users?email=not-an-address", key, nil); r.status != 400 {
		t.Errorf("a bad email filter: %d, want 400", r.status)
	}

	u := h.must(200, "GET", "/users/alice", key, nil)
	if idn, _ := u.body["identities"].([]any); len(idn) != 2 {
		t.Errorf("alice's identities: %s, want both", u.raw)
	}
	if ss, _ := u.body["sessions"].([]any); len(ss) != 2 {
		t.Errorf("alice's sessions: %s", u.raw)
	}
	sessions := h.must(200, "GET", "/users/alice/sessions?limit=1", key, nil)
	more := h.must(200, "GET", "/users/alice/sessions?limit=1&cursor="+sessions.str("next_cursor"), key, nil)
	if got := append(ids(sessions), ids(more)...); !slices.Equal(got, []string{alice[1], alice[0]}) {
		t.Errorf("alice's sessions, newest first, by pages: %v", got)
	}

	// A key restricted to a sees a's sessions only, and may not act on
	// users across tenants.
	keyA := h.key("a", "users:read", "users:write")
	u = h.must(200, "GET", "/users/alice", keyA, nil)
	if ss, _ := u.body["sessions"].([]any); len(ss) != 1 {
		t.Errorf("alice through a's key: %s, want a's session only", u.raw)
	}
	if idn, _ := u.body["identities"].([]any); len(idn) != 1 || strings.Contains(u.raw, "elsewhere") {
		t.Errorf("alice through a's key: %s, want her identity at a's provider only", u.raw)
	}
	if r := h.do("GET", "/users?tenant=cfg-app", keyA, nil); len(r.items()) != 0 {
		t.Errorf("a's key listing cfg-app's users: %s", r.raw)
	}
	if r := h.do("DELETE", "/sessions/"+alice[0], keyA, nil); r.status != 404 {
		t.Errorf("a's key revoking a cfg-app session: %d, want 404", r.status)
	}
	if r := h.do("PATCH", "/users/alice", keyA, map[string]any{"disabled": true}); r.status != 403 {
		t.Errorf("a's key disabling a user: %d, want 403", r.status)
	}
	h.must(204, "DELETE", "/sessions/"+alice[1], keyA, nil)
	if r := h.do("GET", "/users/alice", keyA, nil); r.status != 404 {
		t.Errorf("alice, without a session in a, through a's key: %d, want 404", r.status)
	}

	// Disabling ends every session.
	for _, bad := range []map[string]any{{"disabled": "yes"}, {"name": "x"}, {}} {
		if r := h.do("PATCH", "/users/alice", key, bad); r.status != 422 {
			t.Errorf("PATCH %v: %d %s, want 422", bad, r.status, r.raw)
		}
	}
	u = h.must(200, "PATCH", "/users/alice", key, map[string]any{"disabled": true})
	if ss, _ := u.body["sessions"].([]any); u.body["disabled"] != true || len(ss) != 0 {
		t.Errorf("disabled alice: %s, want no sessions left", u.raw)
	}
	if r := h.must(200, "PATCH", "/users/alice", key, map[string]any{"disabled": false}); r.body["disabled"] != false {
		t.Errorf("re-enabled alice: %s", r.raw)
	}

	h.must(204, "DELETE", "/users/bob", key, nil)
	if r := h.do("GET", "/users/bob", key, nil); r.status != 404 {
		t.Errorf("deleted bob: %d, want 404", r.status)
	}
	if sess, err := s.GetSession(t.Context(), bob[0]); err == nil && sess.RevokedAt.IsZero() {
		t.Error("a deleted user's session is still live")
	}

	var types []string
	for _, e := range h.must(200, "GET", "/audit", key, nil).items() {
		types = append(types, e["type"].(string))
	}
	for _, want := range []string{"session.revoked", "user.disabled", "user.enabled", "user.deleted"} {
		if !slices.Contains(types, want) {
			t.Errorf("audit log %v lacks %s", types, want)
		}
	}
}
