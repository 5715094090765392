// Package tenants is the broker's registry of tenants (the apps it signs
// users in to) and upstreams (the providers they sign in with). Handlers
// consult it on every request instead of capturing configuration at start,
// so that a change (the config file at start, the admin API at runtime)
// is in force at once. Reads are lock-free: a lookup loads one immutable
// snapshot; a change builds a new snapshot and swaps it in. docs.go owns
// the JSON documents of the runtime records (tenants, connections,
// domains) the admin API writes and sync.go reads.
package tenants
