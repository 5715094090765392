package oauth_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/socialbroker/broker/internal/server/servertest"
	"golang.org/x/oauth2"
)

// TestOffTheShelfClient uses the broker as any Go app would: x/oauth2 for
// the flow and go-oidc pointed at the broker's discovery document for the
// ID token, the access token's signature and userinfo.
func TestOffTheShelfClient(t *testing.T) {
	h := servertest.New(t, "")
	ctx := t.Context()
	provider, err := oidc.NewProvider(ctx, h.Issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	conf := &oauth2.Config{
		ClientID: "spa", Endpoint: provider.Endpoint(), RedirectURL: servertest.AppRedirect,
		Scopes: []string{oidc.ScopeOpenID, "email", "profile"},
	}
	verifier, state, nonce := oauth2.GenerateVerifier(), "app-state", "app-nonce"
	authURL := conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier), oidc.Nonce(nonce),
		oauth2.SetAuthURLParam("provider", "github"))

	h.GitHub.SetNextUser(servertest.Alice)
	q := h.NewBrowser().Follow(authURL)
	if q.Get("state") != state || q.Get("iss") != h.Issuer {
		t.Fatalf("redirect query %v", q)
	}
	tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	idt, err := provider.Verifier(&oidc.Config{ClientID: "spa"}).Verify(ctx, rawID)
	if err != nil {
		t.Fatalf("go-oidc Verify(id_token): %v", err)
	}
	if idt.Nonce != nonce {
		t.Errorf("nonce = %q, want %q", idt.Nonce, nonce)
	}
	var claims struct {
		Email         string `json:"email"`
		EmailVerified bool   `json:"email_verified"`
		SID           string `json:"sid"`
	}
	if err := idt.Claims(&claims); err != nil || claims.Email != "alice@acme.test" || !claims.EmailVerified || claims.SID == "" {
		t.Errorf("ID token claims %+v (%v)", claims, err)
	}
	keys := oidc.NewRemoteKeySet(ctx, h.Issuer+"/.well-known/jwks.json")
	if _, err := keys.VerifySignature(ctx, tok.AccessToken); err != nil {
		t.Errorf("access token signature against the JWKS: %v", err)
	}
	info, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil || info.Subject != idt.Subject || info.Email != "alice@acme.test" {
		t.Errorf("UserInfo = %+v, %v", info, err)
	}

	// x/oauth2 refreshes an expired token by itself through the refresh grant.
	expired := *tok
	expired.Expiry = time.Now().Add(-time.Minute)
	fresh, err := conf.TokenSource(ctx, &expired).Token()
	if err != nil {
		t.Fatalf("refresh through TokenSource: %v", err)
	}
	if fresh.RefreshToken == tok.RefreshToken || fresh.AccessToken == tok.AccessToken {
		t.Error("refresh did not rotate the tokens")
	}
	client := conf.Client(ctx, fresh)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, h.Issuer+"/auth/me", nil)
	req.Header.Set("X-Tenant-ID", "spa") // the app names itself
	resp, err := client.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /auth/me with the oauth2 client: %v %v", resp, err)
	}
	resp.Body.Close()
}
