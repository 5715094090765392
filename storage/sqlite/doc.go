// Package sqlite is the storage.Store kept in one SQLite file, through the
// pure-Go driver modernc.org/sqlite (no cgo).
//
// Open brings the file's schema up to date from the migrations embedded in
// the binary and refuses a file written by a newer broker. Writes go
// through a single connection whose transactions begin IMMEDIATE, each
// shared by all the writes waiting (a group commit: see writer.go); reads
// through a pool of their own beside it (WAL), so single-use records
// (codes, login states, refresh tokens) are used exactly once even
// under concurrent requests. Times are kept as unix milliseconds in UTC.
//
// A file is meant for one broker process at a time; several processes on
// one file stay correct (SQLite's locks) but wait on each other's writes.
package sqlite
