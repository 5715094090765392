// Package server assembles the broker: it opens the store, loads the keys,
// fills the tenant registry from config, and mounts every endpoint family
// on one Echo instance (routes.go, the one place that says which handler
// answers which path). The families live in packages of their own:
// callback (the browser flow), oauth (the standard endpoints), appapi
// (the app-facing ones), logout; authn answers who is calling, httpx
// renders every error. Readiness (ready.go) asks the store whether its
// writes go through; Serve drains before it stops (server.go). admin.go
// wires the admin API (package admin), keeps the registry in step with
// the runtime records it writes, and checks secrets_key at start.
package server
