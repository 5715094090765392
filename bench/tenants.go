package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/socialbroker/broker/internal/config"
	"github.com/socialbroker/broker/internal/tenants"
	"github.com/socialbroker/broker/storage"
)

// -tenants N: the scenarios run against N runtime tenants (issue 16),
// created before the broker's restart as the admin API creates them: the
// same JSON decoded and validated by the same code (config.DecodeJSON,
// config.ValidateTenant) and stored as the same record
// (tenants.TenantDoc, Records.CreateRecord). Each sign-in picks the next
// of them in turn, and refreshes and checks go to the tenant of their
// session, so the broker looks up a different tenant from one request to
// the next. With -tenants 0 (the default) the load uses the one tenant of
// config.toml.

// runtimeTenant is the id of the i-th runtime tenant.
func runtimeTenant(i int) string { return fmt.Sprintf("rt-%05d", i) }

// createTenantsWorkers create tenants at once: SQLite commits concurrent
// writes together.
const createTenantsWorkers = 16

// createTenants stores n runtime tenants in the database at dbURL, which
// a broker has migrated and does not use meanwhile.
func (b *bench) createTenants(ctx context.Context, dbURL, issuer string, n int) error {
	began := time.Now()
	s, err := openStore(ctx, dbURL)
	if err != nil {
		return err
	}
	defer s.Close()
	known := map[string]bool{"google": true, "github": true} // config.toml's providers
	hasProvider := func(name string) bool { return known[name] }
	var next atomic.Int64
	errs := make(chan error, createTenantsWorkers)
	var wg sync.WaitGroup
	for range createTenantsWorkers {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n && ctx.Err() == nil; i = int(next.Add(1) - 1) {
				if err := createTenant(ctx, s, issuer, runtimeTenant(i), hasProvider); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return fmt.Errorf("-tenants: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	fmt.Fprintf(b.out, "  created %d runtime tenants in %s\n", n, time.Since(began).Round(time.Millisecond))
	return nil
}

// createTenant makes the tenant of the body an admin would POST to
// /admin/v1/tenants: bench's public PKCE app, under another id.
func createTenant(ctx context.Context, s storage.Store, issuer, id string, hasProvider func(string) bool) error {
	body := map[string]any{
		"id": id, "name": "Bench " + id, "redirect_uris": []any{appRedirect}, "providers": []any{"google", "github"},
		"roles": []any{map[string]any{"role": "member", "everyone": true, "permissions": []any{"reports:read"}}},
	}
	t := &config.Tenant{}
	ps := config.DecodeJSON(body, t)
	ps = append(ps, config.ValidateTenant(t, issuer, hasProvider)...)
	if len(ps) > 0 {
		return fmt.Errorf("tenant %s: %v", id, ps)
	}
	doc, err := tenants.TenantDoc(t)
	if err != nil {
		return err
	}
	_, err = s.CreateRecord(ctx, storage.Record{Kind: storage.KindTenant, ID: id, Doc: doc, CreatedAt: time.Now()})
	return err
}

// tenantCycle hands out the tenant of each new sign-in: tenantID when
// there are no runtime tenants, else each of them in turn.
type tenantCycle struct {
	n    int
	next atomic.Uint64
}

func (c *tenantCycle) pick() string {
	if c == nil || c.n <= 0 {
		return tenantID
	}
	return runtimeTenant(int(c.next.Add(1) % uint64(c.n)))
}
