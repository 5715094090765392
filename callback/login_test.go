package callback_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/socialbroker/broker/internal/server/servertest"
	"github.com/socialbroker/broker/providers/providertest"
)

// TestLoginEndToEnd drives a complete sign-in for each kind of provider,
// then every app-facing endpoint, through refresh and logout.
func TestLoginEndToEnd(t *testing.T) {
	tests := []struct {
		name, provider string
		user           providertest.User
		wantEmail      string
		wantVerified   bool // the broker vouches for it (trust rule)
		wantRoles      []string
	}{
		{"google", "google", servertest.Alice, "alice@acme.test", true, []string{"admin", "viewer"}},
		// bob's GitHub email is private: only /user/emails reveals it.
		{"github private email", "github", servertest.Bob, "bob@other.test", true, []string{"viewer"}},
		// corp's ID token carries only sub: the rest comes from userinfo.
		// corp is not trusted for email: its "verified" is not the broker's.
		{"generic oidc via userinfo", "corp", servertest.Bob, "bob@other.test", false, []string{"viewer"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := servertest.New(t, "")
			b := h.NewBrowser()
			p := servertest.NewPKCE()
			q := h.Login(b, tt.provider, "spa", tt.user, p)
			if q.Get("state") != p.State || q.Get("iss") != h.Issuer || q.Get("code") == "" {
				t.Fatalf("app redirect = %v, want code, state %q and iss %q", q, p.State, h.Issuer)
			}
			tr, status := h.Redeem("spa", q.Get("code"), p.Verifier)
			if status != http.StatusOK || tr.TokenType != "Bearer" || tr.AccessToken == "" || tr.RefreshToken == "" || tr.IDToken == "" {
				t.Fatalf("token: status %d, %+v", status, tr)
			}
			if tr.Scope != "openid email profile" || tr.ExpiresIn != 300 {
				t.Errorf("token: scope %q expires_in %d, want %q 300", tr.Scope, tr.ExpiresIn, "openid email profile")
			}

			var check servertest.CheckResponse
			if status, _ := h.GetBearer("/auth/check", tr.AccessToken, &check); status != http.StatusOK || !check.Authenticated || check.Tenant != "spa" || check.Sub == "" || check.ExpiresAt == "" {
				t.Fatalf("check: status %d, %+v", status, check)
			}
			var me servertest.MeResponse
			if status, _ := h.GetBearer("/auth/me", tr.AccessToken, &me); status != http.StatusOK {
				t.Fatalf("me: status %d", status)
			}
			if me.ID != check.Sub || me.Email != tt.wantEmail || me.EmailVerified != tt.wantVerified || me.Tenant != "spa" || len(me.Identities) != 1 || me.Identities[0].Provider != tt.provider {
				t.Errorf("me = %+v, want email %s (verified %v), one %s identity", me, tt.wantEmail, tt.wantVerified, tt.provider)
			}
			if me.ID == tt.user.Subject {
				t.Errorf("me.id = upstream subject %q; the broker must mint its own ids", me.ID)
			}
			if !slices.Equal(me.Roles, tt.wantRoles) {
				t.Errorf("me.roles = %v, want %v", me.Roles, tt.wantRoles)
			}
			var perms struct{ Roles, Permissions []string }
			if status, _ := h.GetBearer("/auth/permissions", tr.AccessToken, &perms); status != http.StatusOK || !slices.Equal(perms.Roles, tt.wantRoles) || !slices.Contains(perms.Permissions, "reports:read") {
				t.Errorf("permissions: status %d, %+v", status, perms)
			}
			var info map[string]any
			if status, _ := h.GetBearer("/userinfo", tr.AccessToken, &info); status != http.StatusOK || info["sub"] != me.ID || info["email"] != tt.wantEmail {
				t.Errorf("userinfo: status %d, %v", status, info)
			}

			// Refresh through the app endpoint, then use the new access token.
			var rr struct {
				AccessToken, RefreshToken, TokenType string
				ExpiresIn                            int64
			}
			if status := h.PostJSON("/auth/refresh", map[string]string{"refreshToken": tr.RefreshToken}, nil, &rr); status != http.StatusOK || rr.AccessToken == "" || rr.RefreshToken == tr.RefreshToken || rr.TokenType != "Bearer" || rr.ExpiresIn != 300 {
				t.Fatalf("refresh: status %d, %+v", status, rr)
			}
			if status, _ := h.GetBearer("/auth/check", rr.AccessToken, &check); status != http.StatusOK {
				t.Fatalf("check after refresh: status %d", status)
			}

			// Logout kills every token of the session.
			var out struct{ Success bool }
			req, _ := http.NewRequest(http.MethodPost, h.Issuer+"/auth/logout", nil)
			req.Header.Set("Authorization", "Bearer "+rr.AccessToken)
			if status := h.Do(req, &out); status != http.StatusOK || !out.Success {
				t.Fatalf("logout: status %d, %+v", status, out)
			}
			for _, tok := range []string{tr.AccessToken, rr.AccessToken} {
				check = servertest.CheckResponse{}
				if status, hdr := h.GetBearer("/auth/check", tok, &check); status != http.StatusUnauthorized || check.Authenticated || check.Error != "invalid_token" || !strings.Contains(hdr.Get("WWW-Authenticate"), `error="invalid_token"`) {
					t.Errorf("check after logout: status %d, %+v, WWW-Authenticate %q", status, check, hdr.Get("WWW-Authenticate"))
				}
				if status, _ := h.GetBearer("/auth/me", tok, nil); status != http.StatusUnauthorized {
					t.Errorf("me after logout: status %d, want 401", status)
				}
				if status, _ := h.GetBearer("/userinfo", tok, nil); status != http.StatusUnauthorized {
					t.Errorf("userinfo after logout: status %d, want 401", status)
				}
			}
			var fail struct{ Error, Message string }
			if status := h.PostJSON("/auth/refresh", map[string]string{"refreshToken": rr.RefreshToken}, nil, &fail); status != http.StatusUnauthorized || fail.Error != "invalid_grant" {
				t.Errorf("refresh after logout: status %d, %+v", status, fail)
			}
		})
	}
}

// TestChooserPage: with several providers and none chosen, /authorize shows
// one button per provider that carries the app's request on.
func TestChooserPage(t *testing.T) {
	h := servertest.New(t, "")
	resp := h.NewBrowser().Get(h.AuthorizeURL("/authorize", "spa", servertest.NewPKCE(), nil))
	defer resp.Body.Close()
	body := servertest.ReadAll(t, resp)
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("status %d, content type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{"Sign in to The SPA", "Sign in with Google", "Sign in with GitHub", "/auth/github/login?", "/auth/corp/login?"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP = %q, want frame-ancestors 'none'", csp)
	}
	// One provider: straight upstream.
	u := h.NewBrowser().UpstreamRedirect(h.AuthorizeURL("/authorize", "server", servertest.NewPKCE(), nil))
	if !strings.HasPrefix(u.String(), h.Google.URL()) {
		t.Errorf("single-provider tenant went to %s, want Google", u)
	}
}
