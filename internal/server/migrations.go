package server

import (
	"context"
	"fmt"
	"strings"

	"github.com/socialbroker/broker/internal/config"
	"github.com/socialbroker/broker/storage"
	"github.com/socialbroker/broker/storage/postgres"
	"github.com/socialbroker/broker/storage/sqlite"
)

// MigrationResult is what ApplyMigrations did.
type MigrationResult struct {
	From, To int      // schema versions before and after
	Applied  []string // the migrations applied, in order (file names)
}

// String is the operator's one-line account of it.
func (r MigrationResult) String() string {
	if len(r.Applied) == 0 {
		return fmt.Sprintf("database schema already at version %d: nothing to apply", r.To)
	}
	return fmt.Sprintf("applied %d migration(s), schema version %d -> %d: %s",
		len(r.Applied), r.From, r.To, strings.Join(r.Applied, ", "))
}

// ApplyMigrations is Migrate, telling what it applied: it reads the schema
// version before and after. Another broker migrating at the same moment
// may make the account differ from what this one did itself; the schema
// ends current either way.
func ApplyMigrations(ctx context.Context, cfg *config.Config) (MigrationResult, error) {
	version, list := schemaReader(cfg.Database.URL)
	if version == nil {
		return MigrationResult{}, Migrate(ctx, cfg) // openStore names the fault
	}
	var res MigrationResult
	var err error
	if res.From, err = version(ctx); err != nil {
		return res, err
	}
	if err := Migrate(ctx, cfg); err != nil {
		return res, err
	}
	if res.To, err = version(ctx); err != nil {
		return res, err
	}
	ms, err := list()
	if err != nil {
		return res, err
	}
	for _, m := range ms {
		if m.Version > res.From && m.Version <= res.To {
			res.Applied = append(res.Applied, m.Name)
		}
	}
	return res, nil
}

// schemaReader returns, for a database URL openStore accepts, how to read
// its schema version and the backend's migrations.
func schemaReader(url string) (func(context.Context) (int, error), func() ([]storage.Migration, error)) {
	switch {
	case strings.HasPrefix(url, "sqlite:"):
		path := strings.TrimPrefix(url, "sqlite:")
		return func(ctx context.Context) (int, error) { return sqlite.SchemaVersion(ctx, path) }, sqlite.Migrations
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return func(ctx context.Context) (int, error) { return postgres.SchemaVersion(ctx, url) }, postgres.Migrations
	}
	return nil, nil
}
