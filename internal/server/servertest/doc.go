// Package servertest runs whole brokers for end-to-end tests: a real
// server.Server on a real listener, configured with three tenants ("spa",
// public; "orgs", GitHub organisation members only; "server", confidential)
// and fake Google, GitHub and generic OIDC upstreams from
// providers/providertest, with a clock tests can push and its logs captured.
//
// A test starts one with New (Start for a database or transport of its
// own, StartConfig for a configuration and upstreams of its own), signs
// users in with SignIn or step by step with a Browser, and calls
// the broker's endpoints with PostForm, PostJSON, GetBearer and Do. The
// helpers that assert on refusals (PageRefusal, RefusedPage, Limited) sit
// here because tests of several packages share them.
//
// Tests of an endpoint family live beside its package, as an external test
// package (oauth_test, appapi_test, ...) that imports servertest.
package servertest
