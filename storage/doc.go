// Package storage declares what the broker keeps (users, identities, login
// states, authorization codes, sessions, refresh tokens, signing keys, and
// for the admin API runtime configuration records, admin keys and the
// audit log) as small per-aggregate interfaces with sentinel errors. Backends live in
// sub-packages (sqlite) and all pass the same storagetest suite.
package storage
