package oauth_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/socialbroker/broker/internal/server/servertest"
)

// oauth2-proxy and most gateways gate on a claim of the ID token or of
// /userinfo: roles are there under the roles scope, preferred_username
// under profile (contract, Changes).
func TestRolesScopeInIDTokenAndUserinfo(t *testing.T) {
	h := servertest.New(t, "")
	tr := h.SignInScope("github", "spa", "openid email profile roles", servertest.Alice)
	id := servertest.PayloadOf(t, tr.IDToken)
	if roles, _ := id["roles"].([]any); len(roles) != 2 || roles[0] != "admin" || roles[1] != "viewer" {
		t.Errorf("ID token roles = %v, want [admin viewer]", id["roles"])
	}
	if id["preferred_username"] != "alice" {
		t.Errorf("ID token preferred_username = %v, want alice", id["preferred_username"])
	}
	var info map[string]any
	if status, _ := h.GetBearer("/userinfo", tr.AccessToken, &info); status != http.StatusOK {
		t.Fatalf("userinfo: status %d", status)
	}
	if roles, _ := info["roles"].([]any); len(roles) != 2 || roles[0] != "admin" {
		t.Errorf("userinfo roles = %v, want [admin viewer]", info["roles"])
	}
	if info["preferred_username"] != "alice" {
		t.Errorf("userinfo preferred_username = %v, want alice", info["preferred_username"])
	}

	// Without the roles scope, neither carries roles.
	tr = h.SignInScope("github", "spa", "openid email profile", servertest.Alice)
	if _, ok := servertest.PayloadOf(t, tr.IDToken)["roles"]; ok {
		t.Error("ID token carries roles without the roles scope")
	}
	info = nil
	h.GetBearer("/userinfo", tr.AccessToken, &info)
	if _, ok := info["roles"]; ok {
		t.Error("userinfo carries roles without the roles scope")
	}
	var doc map[string]any
	h.Do(servertest.MustRequest(t, http.MethodGet, h.Issuer+"/.well-known/openid-configuration"), &doc)
	if scopes, _ := doc["scopes_supported"].([]any); !slices.Contains(scopes, any("roles")) {
		t.Errorf("scopes_supported = %v, want roles listed", doc["scopes_supported"])
	}
}
