package tenants

import (
	"fmt"
	"sync"
	"testing"

	"github.com/socialbroker/broker/callback"
	"github.com/socialbroker/broker/internal/config"
)

// Readers never see half a change, and never block on one.
func TestRegistryConcurrentChanges(t *testing.T) {
	r := &Registry{}
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 200 {
			id := fmt.Sprint("t", i)
			r.Apply(Change{
				Tenants:   []*Tenant{mustTenant(t, &config.Tenant{ID: id, AllowedOrigins: []string{"https://" + id + ".example"}})},
				Upstreams: []*callback.Upstream{{Name: "up-" + id, Domains: []string{id + ".example"}}},
			})
		}
	})
	for range 2 {
		wg.Go(func() {
			for i := range 200 {
				id := fmt.Sprint("t", i)
				// A tenant, once seen, comes with its origin index.
				if _, ok := r.Tenant(id); ok && !r.OriginAllowed("https://"+id+".example") {
					t.Errorf("tenant %s visible without its origin", id)
				}
				if up, ok := r.HomeRealm(id + ".example"); ok && up != "up-"+id {
					t.Errorf("realm %s routes to %s", id, up)
				}
			}
		})
	}
	wg.Wait()
	if r.Len() != 200 {
		t.Fatalf("Len = %d, want 200", r.Len())
	}
}

func TestRegistryOriginOfOneTenant(t *testing.T) {
	r := &Registry{}
	shared := "https://shared.example"
	r.Apply(Change{Tenants: []*Tenant{
		mustTenant(t, &config.Tenant{ID: "a", AllowedOrigins: []string{shared, "https://a.example"}}),
		mustTenant(t, &config.Tenant{ID: "b", AllowedOrigins: []string{shared}}),
	}})
	if got, ok := r.TenantOfOrigin("https://a.example"); !ok || got.ID != "a" {
		t.Fatalf("TenantOfOrigin(a) = %v %v", got, ok)
	}
	if _, ok := r.TenantOfOrigin(shared); ok {
		t.Fatal("an origin two tenants allow names one of them")
	}
	if !r.OriginAllowed(shared) || r.OriginAllowed("https://evil.example") || r.OriginAllowed("") {
		t.Fatal("OriginAllowed wrong")
	}
	r.Apply(Change{RemoveTenants: []string{"b"}})
	if got, ok := r.TenantOfOrigin(shared); !ok || got.ID != "a" {
		t.Fatal("removing b left the shared origin ambiguous")
	}
}

// A removed tenant is remembered (its back-channel logouts are still
// owed), the latest maxDeparted of them.
func TestRegistryDeparted(t *testing.T) {
	r := &Registry{}
	for i := range maxDeparted + 2 {
		id := fmt.Sprint("t", i)
		r.Apply(Change{Tenants: []*Tenant{mustTenant(t, &config.Tenant{ID: id, BackchannelLogoutURI: "https://" + id + ".example/bc"})}})
		r.Apply(Change{RemoveTenants: []string{id, "never-there"}})
	}
	if _, ok := r.Tenant("t5"); ok {
		t.Fatal("removed tenant still served")
	}
	if got, ok := r.Departed("t5"); !ok || got.BackchannelLogoutURI != "https://t5.example/bc" {
		t.Fatalf("Departed(t5) = %v, %v", got, ok)
	}
	if _, ok := r.Departed("t0"); ok {
		t.Fatal("departed list unbounded")
	}
	if _, ok := r.Departed("never-there"); ok {
		t.Fatal("a tenant that never was is remembered")
	}
}

func mustTenant(t *testing.T, ct *config.Tenant) *Tenant {
	t.Helper()
	tn, err := NewTenant(ct)
	if err != nil {
		t.Fatal(err)
	}
	return tn
}
