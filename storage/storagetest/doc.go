// Package storagetest is the conformance suite every storage backend runs:
// Run exercises a storage.Store through its interface only, so the same
// tests pin down SQLite, PostgreSQL and any later backend alike.
//
// Where the contract leaves a choice open the suite fixes one, so backends
// agree: a record is expired from its ExpiresAt on (now == ExpiresAt is
// expired, as for a JWT "exp"); times need only keep millisecond
// precision and may come back in another location; an empty slice and nil
// are the same value.
package storagetest
