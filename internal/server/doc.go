// Package server assembles the broker: it opens the store, loads the keys,
// builds the providers from config, and mounts every endpoint on one Echo
// instance. The browser flow lives in package callback; the token,
// app-facing and standard endpoints live here, one file per family.
// Readiness (ready.go) asks the store whether its writes go through;
// Serve drains before it stops (server.go).
package server
