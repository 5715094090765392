package server_test

import (
	"bytes"
	"net/http"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/socialbroker/broker/internal/server/servertest"
	"github.com/socialbroker/broker/storage"
	"github.com/socialbroker/broker/storage/sqlite"
)

// TestSecurityEventsAudited: sign-ins (either way), a refresh token's
// reuse and a logout reach the audit log, with who, which app and from
// where, and never a token.
func TestSecurityEventsAudited(t *testing.T) {
	db := filepath.Join(t.TempDir(), "broker.db")
	h := servertest.Start(t, servertest.Options{DB: "sqlite:" + db})

	tr := h.SignIn("google", "spa", servertest.Alice)
	next, status := h.RefreshGrant("spa", tr.RefreshToken)
	if status != http.StatusOK {
		t.Fatalf("refresh: %d", status)
	}
	h.Clock.Advance(time.Minute) // past the reuse grace
	if _, status := h.RefreshGrant("spa", next.RefreshToken); status != http.StatusOK {
		t.Fatalf("second refresh: %d", status)
	}
	// The first token again, its successor used: a stolen copy.
	if _, status := h.RefreshGrant("spa", tr.RefreshToken); status != http.StatusBadRequest {
		t.Fatalf("reuse: %d, want 400", status)
	}
	second := h.SignIn("google", "spa", servertest.Bob)
	if status := h.PostJSON("/auth/logout", struct{}{}, http.Header{"Authorization": {"Bearer " + second.AccessToken}}, nil); status != http.StatusOK {
		t.Fatalf("logout: %d", status)
	}
	// eve is no GitHub member of acme: the orgs app refuses her.
	if q := h.Login(h.NewBrowser(), "github", "orgs", servertest.Eve, servertest.NewPKCE()); q.Get("error") != "access_denied" {
		t.Fatalf("orgs sign-in of eve: %v", q)
	}

	store, err := sqlite.Open(t.Context(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	want := []string{"login.succeeded", "refresh.reuse_detected", "login.succeeded", "logout", "login.failed"}
	var got []storage.AuditEvent
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if got, err = store.ListAudit(t.Context(), storage.AuditQuery{}); err != nil {
			t.Fatal(err)
		}
		if len(got) >= len(want) {
			break
		}
	}
	var types []string
	for _, e := range slices.Backward(got) {
		types = append(types, e.Type)
		for _, secret := range []string{tr.AccessToken, tr.RefreshToken, next.RefreshToken, second.AccessToken, second.RefreshToken} {
			if secret != "" && (bytes.Contains(e.Detail, []byte(secret)) || e.Actor == secret) {
				t.Fatalf("audit event %s holds a token", e.Type)
			}
		}
		if e.Tenant == "" {
			t.Errorf("audit event %s names no tenant", e.Type)
		}
	}
	if !slices.Equal(types, want) {
		t.Fatalf("audit events %v, want %v", types, want)
	}
	if ok := got[len(got)-1]; ok.User == "" || ok.IP != "127.0.0.1" {
		t.Errorf("login.succeeded: user %q ip %q, want the user and the client's address", ok.User, ok.IP)
	}
}
