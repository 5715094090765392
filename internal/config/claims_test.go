package config

import (
	"strings"
	"testing"

	"github.com/socialbroker/broker/internal/claims"
)

// withClaims appends [[tenants.claims]] entries to the valid config.
func withClaims(entries ...string) string {
	var b strings.Builder
	b.WriteString(valid)
	for _, e := range entries {
		b.WriteString("[[tenants.claims]]\n" + e + "\n")
	}
	return b.String()
}

func TestClaimsValid(t *testing.T) {
	c, err := Parse([]byte(withClaims(
		`name = "org"`+"\n"+`expr = "tenant.id + ':' + user.id"`,
		`name = "https://acme.com/teams"`+"\n"+`expr = "identity.groups.filter(g, g.contains('/'))"`+"\n"+`in = ["access_token", "userinfo"]`,
	)), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	rules := c.Tenants[0].ClaimRules()
	if len(rules) != 2 || rules[0].Name != "org" || rules[0].In != 0 || rules[1].In != claims.AccessToken|claims.Userinfo {
		t.Errorf("rules: %+v", rules)
	}
	if s, err := claims.Compile(rules); err != nil || s.Len() != 2 || !s.ReadsGroups() {
		t.Errorf("Compile: %v, %v", s, err)
	}
}

// Every problem names its key, so that an operator finds the claim.
func TestClaimsProblems(t *testing.T) {
	tests := []struct {
		name, entry, wantKey, wantMsg string
	}{
		{"type error", `name = "a"` + "\n" + `expr = "user.id + 1"`, "tenants[0].claims[0].expr", "no matching overload"},
		{"unknown field", `name = "a"` + "\n" + `expr = "user.emial"`, "tenants[0].claims[0].expr", "undefined field 'emial'"},
		{"syntax", `name = "a"` + "\n" + `expr = "user.id +"`, "tenants[0].claims[0].expr", "does not compile"},
		{"not json", `name = "a"` + "\n" + `expr = "identity"`, "tenants[0].claims[0].expr", "claims.Identity"},
		{"no expr", `name = "a"`, "tenants[0].claims[0].expr", "required"},
		{"reserved sub", `name = "sub"` + "\n" + `expr = "1"`, "tenants[0].claims[0].name", "reserved"},
		{"reserved roles", `name = "roles"` + "\n" + `expr = "roles"`, "tenants[0].claims[0].name", "reserved"},
		{"reserved email", `name = "email"` + "\n" + `expr = "user.email"`, "tenants[0].claims[0].name", "reserved"},
		{"no name", `expr = "1"`, "tenants[0].claims[0].name", "required"},
		{"bad name", `name = "a b"` + "\n" + `expr = "1"`, "tenants[0].claims[0].name", "use only"},
		{"bad destination", `name = "a"` + "\n" + `expr = "1"` + "\n" + `in = ["access_token", "cookie"]`, "tenants[0].claims[0].in[1]", "want"},
		{"unknown key", `name = "a"` + "\n" + `expr = "1"` + "\n" + `when = "x"`, "tenants[0].claims[0].when", "unknown key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(withClaims(tt.entry)), noEnv)
			if err == nil {
				t.Fatalf("Parse: nil error, want a problem at %s", tt.wantKey)
			}
			found := false
			for _, p := range problemsOf(t, err) {
				found = found || strings.HasPrefix(p, tt.wantKey+": ") && strings.Contains(p, tt.wantMsg)
			}
			if !found {
				t.Errorf("got %v\nwant a problem %q containing %q", err, tt.wantKey+": ...", tt.wantMsg)
			}
		})
	}
}

func TestClaimsDuplicateAndCount(t *testing.T) {
	_, err := Parse([]byte(withClaims(`name = "a"`+"\n"+`expr = "1"`, `name = "a"`+"\n"+`expr = "2"`)), noEnv)
	if ps := problemsOf(t, err); len(ps) != 1 || !strings.HasPrefix(ps[0], "tenants[0].claims[1].name: ") {
		t.Errorf("duplicate: %v", ps)
	}
	var many []string
	for i := range claims.MaxClaims + 1 {
		many = append(many, `name = "c`+string(rune('a'+i%26))+string(rune('a'+i/26))+`"`+"\n"+`expr = "1"`)
	}
	_, err = Parse([]byte(withClaims(many...)), noEnv)
	if ps := problemsOf(t, err); len(ps) != 1 || !strings.HasPrefix(ps[0], "tenants[0].claims: ") {
		t.Errorf("too many: %v", ps)
	}
}

// The admin API decodes a tenant body by the same keys and validates it
// with the same ValidateTenant: fields are relative to the tenant.
func TestClaimsFromJSON(t *testing.T) {
	obj := map[string]any{
		"id": "app", "redirect_uris": []any{"https://app.example/cb"}, "providers": []any{"google"},
		"claims": []any{
			map[string]any{"name": "plan", "expr": `"pro"`, "in": []any{"id_token"}},
			map[string]any{"name": "iss", "expr": `user.nope`},
		},
	}
	var tn Tenant
	if ps := DecodeJSON(obj, &tn); len(ps) != 0 {
		t.Fatal(ps)
	}
	ps := ValidateTenant(&tn, "https://auth.example", func(string) bool { return true })
	var fields []string
	for _, p := range ps {
		fields = append(fields, p.Field)
	}
	if strings.Join(fields, " ") != "claims[1].name claims[1].expr" {
		t.Errorf("problems %v, want claims[1].name and claims[1].expr", ps)
	}
	if got := EncodeJSON(&tn)["claims"].([]any)[0].(map[string]any); got["name"] != "plan" || got["in"].([]any)[0] != "id_token" {
		t.Errorf("EncodeJSON: %v", got)
	}
}
