package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgTimeout bounds creating and dropping the schema.
const pgTimeout = 10 * time.Second

// pgSchema is a schema of its own on the PostgreSQL server, holding one
// benchmarked broker's tables.
type pgSchema struct {
	server string // the server's URL, as given
	name   string
	url    string // server with search_path set to the schema
}

// createSchema creates bench_<random> on server.
func createSchema(ctx context.Context, server string) (*pgSchema, error) {
	u, err := url.Parse(server)
	if err != nil || u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return nil, fmt.Errorf("-postgres: want a postgres:// URL, got %q", server)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	s := &pgSchema{server: server, name: "bench_" + hex.EncodeToString(b)}
	if err := s.exec(ctx, "CREATE SCHEMA "+pgx.Identifier{s.name}.Sanitize()); err != nil {
		return nil, err
	}
	// The broker keeps its tables in the first schema of search_path.
	q := u.Query()
	q.Set("search_path", s.name)
	// Its backends are found by this name (pgProcs).
	q.Set("application_name", s.name)
	u.RawQuery = q.Encode()
	s.url = u.String()
	return s, nil
}

// drop removes the schema and everything in it. It runs during cleanup,
// perhaps after Ctrl-C, so it does not take the run's context.
func (s *pgSchema) drop() error {
	if s == nil {
		return nil
	}
	return s.exec(context.Background(), "DROP SCHEMA IF EXISTS "+pgx.Identifier{s.name}.Sanitize()+" CASCADE")
}

// version is the server's version string, for the report.
func (s *pgSchema) version(ctx context.Context) string {
	ctx, cancel := context.WithTimeout(ctx, pgTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.server)
	if err != nil {
		return "unknown"
	}
	defer conn.Close(ctx)
	var v string
	if err := conn.QueryRow(ctx, "SHOW server_version").Scan(&v); err != nil {
		return "unknown"
	}
	return v
}

func (s *pgSchema) exec(ctx context.Context, sql string) error {
	ctx, cancel := context.WithTimeout(ctx, pgTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.server)
	if err != nil {
		return fmt.Errorf("postgres: connect to %s: %w", redact(s.server), err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("postgres: %s: %w", sql, err)
	}
	return nil
}

// redact hides a password in a URL for messages.
func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil {
		return u.Redacted()
	}
	return "the -postgres server"
}
