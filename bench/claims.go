package main

import (
	"fmt"
	"strings"
)

// maxBenchClaims is the most custom claims -claims gives the tenant: the
// broker's own limit per tenant (internal/claims.MaxClaims).
const maxBenchClaims = 32

// benchClaims are the first custom claims -claims N gives the bench
// tenant, one per destination mix, the kind an app asks for: an id in its
// own namespace, where the identity came from, a domain from the email.
// None reads identity.groups, which would make GitHub logins read the
// user's organisations and teams too: upstream calls, not claims.
var benchClaims = []struct{ name, expr, in string }{
	{"org", `tenant.id + ":" + user.id`, ""},
	{"upstream", `identity.provider + "/" + identity.subject`, `["access_token", "userinfo"]`},
	{"domain", `user.email_verified ? user.email.split("@")[1] : ""`, `["access_token", "id_token"]`},
}

// claimsTOML is the [[tenants.claims]] entries of the bench tenant: it
// follows the tenant's last table in brokerConfig. Beyond benchClaims,
// claim cN is a string built from the tenant and the user.
func claimsTOML(n int) string {
	var b strings.Builder
	for i := range n {
		name, expr, in := fmt.Sprintf("c%d", i+1), `tenant.id + "/" + user.id`, ""
		if i < len(benchClaims) {
			name, expr, in = benchClaims[i].name, benchClaims[i].expr, benchClaims[i].in
		}
		fmt.Fprintf(&b, "\n[[tenants.claims]]\nname = %q\nexpr = %q\n", name, expr)
		if in != "" {
			fmt.Fprintf(&b, "in = %s\n", in)
		}
	}
	return b.String()
}
