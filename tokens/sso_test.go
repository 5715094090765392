package tokens

import (
	"testing"
	"time"

	"github.com/socialbroker/broker/storage"
)

// A code grant from a broker session keeps the session's auth_time and
// link; ending one session "everywhere" ends its siblings, at once on this
// replica, and ending it alone leaves them be.
func TestEndSessionEverywhere(t *testing.T) {
	f := newServiceFixture(t)
	ctx := t.Context()
	authTime := t0.Add(-time.Hour)
	sso := storage.SSOSession{ID: "sso-1", SecretHash: "h", UserID: f.user.ID, Provider: "google",
		AuthTime: authTime, CreatedAt: authTime, IdleExpiresAt: t0.Add(time.Hour), ExpiresAt: t0.Add(time.Hour)}
	if err := f.store.PutSSOSession(ctx, sso); err != nil {
		t.Fatal(err)
	}
	issue := func(ssoID string) string {
		_, sid, err := f.svc.IssueCode(ctx, CodeGrant{UserID: f.user.ID, TenantID: testClient, Provider: "google",
			Scope: "openid", RedirectURI: testRedirect, AuthTime: authTime, SSOID: ssoID})
		if err != nil {
			t.Fatal(err)
		}
		return sid
	}
	a, b, c, lone := issue("sso-1"), issue("sso-1"), issue("sso-1"), issue("")
	sess, err := f.store.GetSession(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	if !sess.AuthTime.Equal(authTime) || sess.SSOID != "sso-1" {
		t.Fatalf("session: auth_time %v sso %q, want %v and sso-1", sess.AuthTime, sess.SSOID, authTime)
	}

	if err := f.svc.EndSession(ctx, c, false); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.EndSession(ctx, lone, true); err != nil {
		t.Fatal(err)
	}
	for sid, want := range map[string]bool{a: false, b: false, c: true, lone: true} {
		if got, _ := f.svc.revoked.check(sid); got != want {
			t.Errorf("session %s revoked = %v, want %v", sid, got, want)
		}
	}
	if err := f.svc.EndSession(ctx, a, true); err != nil {
		t.Fatal(err)
	}
	for _, sid := range []string{a, b} {
		if got, _ := f.svc.revoked.check(sid); !got {
			t.Errorf("session %s not revoked with its broker session", sid)
		}
	}
	if err := f.svc.RevokeSSOSession(ctx, "unknown"); err != nil {
		t.Errorf("RevokeSSOSession(unknown): %v", err)
	}
}
