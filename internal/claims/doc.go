// Package claims owns a tenant's custom claims ([[tenants.claims]]): CEL
// expressions (github.com/google/cel-go, the language Kubernetes uses to
// map token claims) over the signed-in user, their identity, the tenant and
// the roles they earn.
//
// An expression is parsed and type-checked once, when its tenant is
// loaded (Check, by the one tenant validator in internal/config, and
// Compile, by the tenant registry); a token issuance evaluates a tenant's
// whole Set once (Set.Eval), and the results go to the access token, the
// ID token and /userinfo as each claim's destinations say.
//
// Evaluation is bounded: a cost limit stops an expression that would burn
// CPU, and a value whose JSON is too large is dropped. A claim that fails
// is left out, and reported to the caller to log: it never fails a sign-in.
package claims
