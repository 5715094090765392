package tokens

import (
	"encoding/json"
	"strings"
	"testing"
)

// A logout token carries what Back-Channel Logout 1.0 §2.4 asks for, no
// nonce, and its own typ, so that it is neither an access token nor an ID
// token hint to this broker.
func TestSignLogoutToken(t *testing.T) {
	store, _ := newStore(t)
	clock := newClock()
	ks := newKeySet(t, store, "ES256", clock)
	raw, err := ks.SignLogoutToken(testIssuer, Logout{TenantID: testClient, UserID: "user-1", SessionID: "sid-1"}, clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(raw, ".")
	var header, claims map[string]any
	for i, v := range []*map[string]any{&header, &claims} {
		b, err := b64.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatal(err)
		}
	}
	if header["typ"] != "logout+jwt" || header["kid"] == nil {
		t.Errorf("header = %v, want typ logout+jwt and a kid", header)
	}
	events, _ := claims["events"].(map[string]any)
	if ev, ok := events[BackchannelLogoutEvent].(map[string]any); !ok || len(ev) != 0 || len(events) != 1 {
		t.Errorf("events = %v, want only {%q: {}}", claims["events"], BackchannelLogoutEvent)
	}
	want := map[string]any{"iss": testIssuer, "aud": []any{testClient}, "sub": "user-1", "sid": "sid-1",
		"iat": float64(t0.Unix()), "exp": float64(t0.Add(LogoutTTL).Unix())}
	for k, v := range want {
		got, _ := json.Marshal(claims[k])
		exp, _ := json.Marshal(v)
		if string(got) != string(exp) {
			t.Errorf("claim %s = %s, want %s", k, got, exp)
		}
	}
	if claims["jti"] == "" || claims["jti"] == nil {
		t.Error("no jti")
	}
	if _, ok := claims["nonce"]; ok {
		t.Error("logout token carries a nonce")
	}
	if _, err := ks.ParseAccessToken(raw, testIssuer); err == nil {
		t.Error("a logout token passed as an access token")
	}
	if _, err := ks.ParseIDTokenHint(raw, testIssuer); err == nil {
		t.Error("a logout token passed as an ID token hint")
	}
}
