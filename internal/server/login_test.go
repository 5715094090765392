package server_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

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
		{"google", "google", alice, "alice@acme.test", true, []string{"admin", "viewer"}},
		// bob's GitHub email is private: only /user/emails reveals it.
		{"github private email", "github", bob, "bob@other.test", true, []string{"viewer"}},
		// corp's ID token carries only sub: the rest comes from userinfo.
		// corp is not trusted for email: its "verified" is not the broker's.
		{"generic oidc via userinfo", "corp", bob, "bob@other.test", false, []string{"viewer"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, "")
			b := h.newBrowser()
			p := newPKCE()
			q := h.login(b, tt.provider, "spa", tt.user, p)
			if q.Get("state") != p.state || q.Get("iss") != h.issuer || q.Get("code") == "" {
				t.Fatalf("app redirect = %v, want code, state %q and iss %q", q, p.state, h.issuer)
			}
			tr, status := h.redeem("spa", q.Get("code"), p.verifier)
			if status != http.StatusOK || tr.TokenType != "Bearer" || tr.AccessToken == "" || tr.RefreshToken == "" || tr.IDToken == "" {
				t.Fatalf("token: status %d, %+v", status, tr)
			}
			if tr.Scope != "openid email profile" || tr.ExpiresIn != 300 {
				t.Errorf("token: scope %q expires_in %d, want %q 300", tr.Scope, tr.ExpiresIn, "openid email profile")
			}

			var check checkResponse
			if status, _ := h.getBearer("/auth/check", tr.AccessToken, &check); status != http.StatusOK || !check.Authenticated || check.Tenant != "spa" || check.Sub == "" || check.ExpiresAt == "" {
				t.Fatalf("check: status %d, %+v", status, check)
			}
			var me meResponse
			if status, _ := h.getBearer("/auth/me", tr.AccessToken, &me); status != http.StatusOK {
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
			if status, _ := h.getBearer("/auth/permissions", tr.AccessToken, &perms); status != http.StatusOK || !slices.Equal(perms.Roles, tt.wantRoles) || !slices.Contains(perms.Permissions, "reports:read") {
				t.Errorf("permissions: status %d, %+v", status, perms)
			}
			var info map[string]any
			if status, _ := h.getBearer("/userinfo", tr.AccessToken, &info); status != http.StatusOK || info["sub"] != me.ID || info["email"] != tt.wantEmail {
				t.Errorf("userinfo: status %d, %v", status, info)
			}

			// Refresh through the app endpoint, then use the new access token.
			var rr struct {
				AccessToken, RefreshToken, TokenType string
				ExpiresIn                            int64
			}
			if status := h.postJSON("/auth/refresh", map[string]string{"refreshToken": tr.RefreshToken}, nil, &rr); status != http.StatusOK || rr.AccessToken == "" || rr.RefreshToken == tr.RefreshToken || rr.TokenType != "Bearer" || rr.ExpiresIn != 300 {
				t.Fatalf("refresh: status %d, %+v", status, rr)
			}
			if status, _ := h.getBearer("/auth/check", rr.AccessToken, &check); status != http.StatusOK {
				t.Fatalf("check after refresh: status %d", status)
			}

			// Logout kills every token of the session.
			var out struct{ Success bool }
			req, _ := http.NewRequest(http.MethodPost, h.issuer+"/auth/logout", nil)
			req.Header.Set("Authorization", "Bearer "+rr.AccessToken)
			if status := h.do(req, &out); status != http.StatusOK || !out.Success {
				t.Fatalf("logout: status %d, %+v", status, out)
			}
			for _, tok := range []string{tr.AccessToken, rr.AccessToken} {
				check = checkResponse{}
				if status, hdr := h.getBearer("/auth/check", tok, &check); status != http.StatusUnauthorized || check.Authenticated || check.Error != "invalid_token" || !strings.Contains(hdr.Get("WWW-Authenticate"), `error="invalid_token"`) {
					t.Errorf("check after logout: status %d, %+v, WWW-Authenticate %q", status, check, hdr.Get("WWW-Authenticate"))
				}
				if status, _ := h.getBearer("/auth/me", tok, nil); status != http.StatusUnauthorized {
					t.Errorf("me after logout: status %d, want 401", status)
				}
				if status, _ := h.getBearer("/userinfo", tok, nil); status != http.StatusUnauthorized {
					t.Errorf("userinfo after logout: status %d, want 401", status)
				}
			}
			var fail struct{ Error, Message string }
			if status := h.postJSON("/auth/refresh", map[string]string{"refreshToken": rr.RefreshToken}, nil, &fail); status != http.StatusUnauthorized || fail.Error != "invalid_grant" {
				t.Errorf("refresh after logout: status %d, %+v", status, fail)
			}
		})
	}
}

// TestGitHubOrgRule: a tenant open only to members of the acme organisation.
func TestGitHubOrgRule(t *testing.T) {
	h := newHarness(t, "")
	b := h.newBrowser()
	p := newPKCE()
	// The broker asks GitHub for read:org only where a rule needs it.
	start := b.upstreamRedirect(h.authorizeURL("/auth/github/login", "orgs", p, nil))
	if !strings.Contains(start.Query().Get("scope"), "read:org") {
		t.Errorf("upstream scope = %q, want read:org", start.Query().Get("scope"))
	}
	if q := h.login(b, "github", "orgs", alice, p); q.Get("code") == "" {
		t.Fatalf("member: redirect %v, want a code", q)
	}
	p = newPKCE()
	q := h.login(h.newBrowser(), "github", "orgs", bob, p)
	if q.Get("error") != "access_denied" || q.Get("code") != "" || q.Get("state") != p.state || q.Get("iss") != h.issuer {
		t.Fatalf("non-member: redirect %v, want error=access_denied with state and iss", q)
	}
	// A tenant without org rules does not ask for read:org.
	start = h.newBrowser().upstreamRedirect(h.authorizeURL("/auth/github/login", "spa", newPKCE(), nil))
	if strings.Contains(start.Query().Get("scope"), "read:org") {
		t.Errorf("upstream scope for spa = %q, want no read:org", start.Query().Get("scope"))
	}
}

// TestAccountLinking: identities join one user only through an email both
// providers verify; an unverified claim to the same address makes a new user.
func TestAccountLinking(t *testing.T) {
	h := newHarness(t, "")
	sub := func(tr tokenResponse) (me meResponse) {
		h.getBearer("/auth/me", tr.AccessToken, &me)
		return me
	}
	viaGoogle := sub(h.signIn("google", "spa", alice))
	viaGitHub := sub(h.signIn("github", "spa", alice))
	if viaGoogle.ID != viaGitHub.ID {
		t.Fatalf("alice via Google %s and via GitHub %s: want one user", viaGoogle.ID, viaGitHub.ID)
	}
	if len(viaGitHub.Identities) != 2 {
		t.Errorf("identities = %+v, want google and github", viaGitHub.Identities)
	}
	again := sub(h.signIn("google", "spa", alice))
	if again.ID != viaGoogle.ID {
		t.Errorf("second Google sign-in: user %s, want %s", again.ID, viaGoogle.ID)
	}
	// eve's provider does not verify alice's address: no takeover.
	viaEve := sub(h.signIn("corp", "spa", eve))
	if viaEve.ID == viaGoogle.ID {
		t.Fatal("an unverified email linked to an existing account")
	}
	// corp is not trusted for email (trust_email defaults to false for
	// generic OIDC), so even a verified address does not link.
	bobGoogle := sub(h.signIn("google", "spa", bob))
	bobCorp := sub(h.signIn("corp", "spa", bob))
	if bobGoogle.ID == bobCorp.ID {
		t.Fatal("an untrusted provider's email linked to an existing account")
	}
}

// TestChooserPage: with several providers and none chosen, /authorize shows
// one button per provider that carries the app's request on.
func TestChooserPage(t *testing.T) {
	h := newHarness(t, "")
	resp := h.newBrowser().get(h.authorizeURL("/authorize", "spa", newPKCE(), nil))
	defer resp.Body.Close()
	body := readAll(t, resp)
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
	u := h.newBrowser().upstreamRedirect(h.authorizeURL("/authorize", "server", newPKCE(), nil))
	if !strings.HasPrefix(u.String(), h.google.URL()) {
		t.Errorf("single-provider tenant went to %s, want Google", u)
	}
}
