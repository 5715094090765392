package claims

import (
	"errors"
	"strings"
	"testing"
)

func input() *Input {
	return &Input{
		User:     User{ID: "u1", Name: "Alice", Email: "alice@acme.com", EmailVerified: true, Picture: "https://p/a.png"},
		Identity: Identity{Provider: "github", Subject: "42", Username: "alice", Email: "alice@acme.com", Groups: []string{"acme", "acme/admins"}},
		Tenant:   Tenant{ID: "acme-admin", Name: "Acme Admin"},
		Roles:    []string{"admin", "viewer"},
	}
}

func TestEvalValues(t *testing.T) {
	cases := []struct{ expr, want string }{
		{`tenant.id + ":" + user.id`, `"acme-admin:u1"`},
		{`user.email_verified`, `true`},
		{`identity.groups.filter(g, g.startsWith("acme/")).map(g, g.split("/")[1])`, `["admins"]`},
		{`"admin" in roles`, `true`},
		{`size(roles)`, `2`},
		{`{"plan": "pro", "seats": 3u, "ratio": 0.5}`, `{"plan":"pro","ratio":0.5,"seats":3}`},
		{`user.email.split("@")[1]`, `"acme.com"`},
		{`identity.provider == "github" ? identity.username : user.name`, `"alice"`},
		{`[user.name, "x\"y"]`, `["Alice","x\"y"]`},
	}
	for _, c := range cases {
		s, err := Compile([]Rule{{Name: "c", Expr: c.expr}})
		if err != nil {
			t.Fatalf("%s: %v", c.expr, err)
		}
		out, failed := s.Eval(input(), Everywhere)
		if len(failed) != 0 {
			t.Fatalf("%s: failed %v", c.expr, failed)
		}
		if len(out.Access) != 1 || string(out.Access[0].Value) != c.want {
			t.Errorf("%s: got %v, want %s", c.expr, out.Access, c.want)
		}
	}
}

func TestDestinations(t *testing.T) {
	s, err := Compile([]Rule{
		{Name: "a", Expr: `1`, In: AccessToken},
		{Name: "b", Expr: `2`, In: IDToken | Userinfo},
		{Name: "c", Expr: `3`},
		{Name: "d", Expr: `null`},
	})
	if err != nil {
		t.Fatal(err)
	}
	out, failed := s.Eval(input(), Everywhere)
	if failed != nil {
		t.Fatal(failed)
	}
	names := func(cs []Claim) string {
		var n []string
		for _, c := range cs {
			n = append(n, c.Name)
		}
		return strings.Join(n, ",")
	}
	if got := names(out.Access); got != "a,c" {
		t.Errorf("access: got %s, want a,c", got)
	}
	if got := names(out.ID); got != "b,c" {
		t.Errorf("id: got %s, want b,c", got)
	}
	if got := names(out.Userinfo); got != "b,c" {
		t.Errorf("userinfo: got %s, want b,c", got)
	}
}

func TestCheck(t *testing.T) {
	for _, c := range []struct{ expr, want string }{
		{`user.id`, ""},
		{`user.emial`, "undefined field 'emial'"},
		{`user.id + 1`, "found no matching overload"},
		{`identity.groups.exists(g, g == 1)`, "found no matching overload"},
		{`b"bytes"`, "type bytes"},
		{`user`, "type claims.User"},
		{`{1: "x"}`, "map(int, string)"},
		{`nosuch`, "undeclared reference"},
		{`"a" +`, "does not compile"},
		{``, "required"},
		{strings.Repeat("1+", MaxExprLength) + "1", "longer than"},
	} {
		got := Check(c.expr)
		if (c.want == "") != (got == "") || !strings.Contains(got, c.want) {
			t.Errorf("Check(%.40q) = %q, want it to mention %q", c.expr, got, c.want)
		}
		if strings.Contains(got, "\n") {
			t.Errorf("Check(%.40q) = %q: more than one line", c.expr, got)
		}
	}
}

func TestCheckName(t *testing.T) {
	for _, name := range Reserved {
		if msg := CheckName(name); !strings.Contains(msg, "reserved") {
			t.Errorf("CheckName(%q) = %q, want it refused as reserved", name, msg)
		}
	}
	for name, ok := range map[string]bool{
		"plan": true, "https://acme.com/plan": true, "org_id": true,
		"": false, "a b": false, `a"b`: false, strings.Repeat("x", MaxNameLength+1): false,
	} {
		if got := CheckName(name) == ""; got != ok {
			t.Errorf("CheckName(%q) ok = %v, want %v", name, got, ok)
		}
	}
}

func TestRuntimeFailureOmitsClaim(t *testing.T) {
	s, err := Compile([]Rule{
		{Name: "first", Expr: `identity.groups[5]`},  // index out of range
		{Name: "div", Expr: `1 / (size(roles) - 2)`}, // division by zero
		{Name: "nan", Expr: `0.0 / 0.0`},
		{Name: "ok", Expr: `"fine"`},
	})
	if err != nil {
		t.Fatal(err)
	}
	out, failed := s.Eval(input(), Everywhere)
	if len(out.Access) != 1 || out.Access[0].Name != "ok" {
		t.Errorf("access: got %v, want only ok", out.Access)
	}
	var names []string
	for _, f := range failed {
		names = append(names, f.Claim)
	}
	if got := strings.Join(names, ","); got != "first,div,nan" {
		t.Errorf("failed: got %s, want first,div,nan", got)
	}
}

func TestCostLimit(t *testing.T) {
	// 100^3 iterations: far past the limit, whatever the input.
	l := "[" + strings.TrimSuffix(strings.Repeat("1,", 100), ",") + "]"
	s, err := Compile([]Rule{
		{Name: "burn", Expr: l + ".all(x, " + l + ".all(y, " + l + ".all(z, x == y)))"},
		{Name: "ok", Expr: `true`},
	})
	if err != nil {
		t.Fatal(err)
	}
	out, failed := s.Eval(input(), Everywhere)
	if len(failed) != 1 || failed[0].Claim != "burn" || !errors.Is(failed[0].Err, ErrCostLimit) {
		t.Fatalf("failed: got %v, want burn to exceed the cost limit", failed)
	}
	if len(out.Access) != 1 || out.Access[0].Name != "ok" {
		t.Errorf("access: got %v, want ok", out.Access)
	}
}

func TestSizeLimits(t *testing.T) {
	part := `"` + strings.Repeat("y", 800) + `"`
	s, err := Compile([]Rule{
		{Name: "big", Expr: `"` + strings.Repeat("x", MaxValueBytes) + `"`},
		{Name: "list", Expr: `[` + strings.TrimSuffix(strings.Repeat(`"abcdefghij",`, 100), ",") + `]`},
		{Name: "p1", Expr: part},
		{Name: "p2", Expr: part, In: AccessToken | IDToken},
		{Name: "p3", Expr: part, In: AccessToken | Userinfo},
	})
	if err != nil {
		t.Fatal(err)
	}
	out, failed := s.Eval(input(), Everywhere)
	var msgs []string
	for _, f := range failed {
		if !errors.Is(f.Err, ErrTooLarge) {
			t.Errorf("%s: %v, want ErrTooLarge", f.Claim, f.Err)
		}
		msgs = append(msgs, f.Claim+": "+f.Err.Error())
	}
	if len(failed) != 3 || failed[0].Claim != "big" || failed[1].Claim != "list" || failed[2].Claim != "p3" ||
		!strings.Contains(failed[2].Err.Error(), "left out of access_token,") && !strings.HasSuffix(failed[2].Err.Error(), "access_token, whose custom claims may take 2048 bytes of JSON") {
		t.Errorf("failed:\n%s\nwant big, list, and p3 out of the access token only", strings.Join(msgs, "\n"))
	}
	count := func(cs []Claim) (n int) {
		for _, c := range cs {
			n += len(c.Value)
		}
		return n
	}
	if len(out.Access) != 2 || len(out.ID) != 2 || len(out.Userinfo) != 2 || count(out.Access) > MaxTotalBytes {
		t.Errorf("got %d, %d, %d claims (access %d bytes), want 2 in each destination", len(out.Access), len(out.ID), len(out.Userinfo), count(out.Access))
	}
}

func TestReadsGroups(t *testing.T) {
	for expr, want := range map[string]bool{
		`identity.groups`: true, `has(identity.groups)`: true,
		`identity.groups.exists(g, g == "a/b")`: true,
		`identity.username`:                     false, `"groups"`: false,
	} {
		s, err := Compile([]Rule{{Name: "c", Expr: expr}})
		if err != nil {
			t.Fatal(err)
		}
		if s.ReadsGroups() != want {
			t.Errorf("%s: ReadsGroups %v, want %v", expr, !want, want)
		}
	}
}

func TestEmptySet(t *testing.T) {
	s, err := Compile(nil)
	if err != nil || s.Len() != 0 || s.ReadsGroups() {
		t.Fatalf("Compile(nil) = %v, %v", s, err)
	}
	if out, failed := s.Eval(input(), Everywhere); out.Access != nil || failed != nil {
		t.Errorf("nil set evaluated to %v, %v", out, failed)
	}
}

// BenchmarkEval evaluates the three claims of go run ./bench -claims 3,
// and three that read the groups and roles.
func BenchmarkEval(b *testing.B) {
	for name, rules := range map[string][]Rule{
		"bench": {
			{Name: "org", Expr: `tenant.id + ":" + user.id`},
			{Name: "upstream", Expr: `identity.provider + "/" + identity.subject`, In: AccessToken | Userinfo},
			{Name: "domain", Expr: `user.email_verified ? user.email.split("@")[1] : ""`, In: AccessToken | IDToken},
		},
		"lists": {
			{Name: "org", Expr: `tenant.id + ":" + user.id`},
			{Name: "teams", Expr: `identity.groups.filter(g, g.contains("/"))`},
			{Name: "is_admin", Expr: `"admin" in roles`},
		},
	} {
		b.Run(name, func(b *testing.B) {
			s, err := Compile(rules)
			if err != nil {
				b.Fatal(err)
			}
			in := input()
			b.ReportAllocs()
			for b.Loop() {
				s.Eval(in, Everywhere)
			}
		})
	}
}

// Short expressions skip the cost counting: their worst case over inputs
// of bounded size is within the limit. Those that may cost more, or whose
// input is larger than the bounds, are counted.
func TestCostCountedOnlyWhenNeeded(t *testing.T) {
	l := "[" + strings.TrimSuffix(strings.Repeat("1,", 30), ",") + "]"
	for expr, counted := range map[string]bool{
		`tenant.id + ":" + user.id`:                                          false,
		`user.email_verified ? user.email.split("@")[1] : ""`:                false,
		`"admin" in roles`:                                                   false,
		l + ".all(a, " + l + ".all(b, " + l + ".all(c, a != 0)))":            true,
		`identity.groups.map(g, identity.groups.filter(h, h.startsWith(g)))`: true,
	} {
		p, err := compile(expr)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.untracked == nil; got != counted {
			t.Errorf("%s: counted %v, want %v", expr, got, counted)
		}
	}
	in := input()
	if !withinBounds(in) {
		t.Fatal("a usual input is out of bounds")
	}
	in.User.Name = strings.Repeat("x", maxInputString+1)
	if withinBounds(in) {
		t.Error("a long name is within bounds")
	}
	in = input()
	in.Identity.Groups = make([]string, maxInputGroups+1)
	if withinBounds(in) {
		t.Error("too many groups are within bounds")
	}
}

// Eval evaluates only the claims of the destinations asked for: a refresh
// without an ID token does not evaluate ID-token-only claims.
func TestEvalWant(t *testing.T) {
	s, err := Compile([]Rule{
		{Name: "a", Expr: `1`, In: AccessToken},
		{Name: "id_broken", Expr: `roles[9]`, In: IDToken},
		{Name: "both", Expr: `2`, In: AccessToken | Userinfo},
	})
	if err != nil {
		t.Fatal(err)
	}
	out, failed := s.Eval(input(), AccessToken)
	if failed != nil || len(out.Access) != 2 || out.ID != nil || out.Userinfo != nil {
		t.Errorf("access only: %+v, %v", out, failed)
	}
	out, failed = s.Eval(input(), Userinfo)
	if failed != nil || out.Access != nil || len(out.Userinfo) != 1 || out.Userinfo[0].Name != "both" {
		t.Errorf("userinfo only: %+v, %v", out, failed)
	}
	if _, failed = s.Eval(input(), IDToken); len(failed) != 1 || failed[0].Claim != "id_broken" {
		t.Errorf("ID token: failed %v, want id_broken", failed)
	}
}
