package tokens

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/socialbroker/broker/internal/claims"
	"github.com/socialbroker/broker/storage"
)

// Custom claims follow the standard ones in the signed JSON, and a token
// without any is what it always was.
func TestCustomClaimsMarshal(t *testing.T) {
	c := &AccessClaims{ClientID: "app", Roles: []string{}, Custom: []claims.Claim{
		{Name: "plan", Value: json.RawMessage(`"pro"`)},
		{Name: "https://acme.com/teams", Value: json.RawMessage(`["a/b"]`)},
	}}
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if m["plan"] != "pro" || m["https://acme.com/teams"].([]any)[0] != "a/b" || m["client_id"] != "app" {
		t.Errorf("got %s", b)
	}
	plain, _ := json.Marshal(&AccessClaims{ClientID: "app", Roles: []string{}})
	type bare AccessClaims
	want, _ := json.Marshal((*bare)(&AccessClaims{ClientID: "app", Roles: []string{}}))
	if string(plain) != string(want) {
		t.Errorf("without custom claims: %s, want %s", plain, want)
	}
	id, _ := json.Marshal(&IDClaims{SID: "s", Custom: []claims.Claim{{Name: "x", Value: json.RawMessage(`1`)}}})
	if err := json.Unmarshal(id, &m); err != nil || m["x"] != float64(1) || m["sid"] != "s" {
		t.Errorf("ID claims: %s", id)
	}
}

// benchClaimsEval is the evaluator of the three claims of go run ./bench
// -claims 3.
func benchClaimsEval(b *testing.B) ClaimsFunc {
	set, err := claims.Compile([]claims.Rule{
		{Name: "org", Expr: `tenant.id + ":" + user.id`},
		{Name: "upstream", Expr: `identity.provider + "/" + identity.subject`, In: claims.AccessToken | claims.Userinfo},
		{Name: "domain", Expr: `user.email_verified ? user.email.split("@")[1] : ""`, In: claims.AccessToken | claims.IDToken},
	})
	if err != nil {
		b.Fatal(err)
	}
	return func(sess storage.Session, user storage.User, roles []string, want claims.Destination) claims.Output {
		out, _ := set.Eval(&claims.Input{
			User:     claims.User{ID: user.ID, Name: user.Name, Email: user.Email, EmailVerified: user.EmailVerified, Picture: user.Picture},
			Identity: claims.Identity{Provider: sess.Provider, Subject: "g-1"},
			Tenant:   claims.Tenant{ID: sess.TenantID}, Roles: roles,
		}, want)
		return out
	}
}

// BenchmarkGrantClaims mints a sign-in's access and ID tokens (the CPU
// part of a login's code exchange, and of a refresh but for the ID token)
// without and with the three claims of go run ./bench -claims 3. Run it
// with -count: the two alternate.
func BenchmarkGrantClaims(b *testing.B) {
	eval := benchClaimsEval(b)
	f := newServiceFixture(b)
	sess := f.login(b, "openid email profile").Session
	for _, n := range []int{0, 3} {
		b.Run(fmt.Sprintf("claims=%d", n), func(b *testing.B) {
			f.svc.cfg.Claims = nil
			if n > 0 {
				f.svc.cfg.Claims = func(string) ClaimsFunc { return eval }
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := f.svc.grant(b.Context(), sess, []string{"member"}, "rt", signInIDToken, f.clock.Now()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
