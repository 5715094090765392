package tenants

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/socialbroker/broker/callback"
	"github.com/socialbroker/broker/internal/config"
	"github.com/socialbroker/broker/providers"
	"github.com/socialbroker/broker/storage"
)

// Decoder turns stored records into what the registry holds.
type Decoder struct {
	Tenant     func(storage.Record) (*config.Tenant, error)
	Connection func(storage.Record) (*config.Provider, error)
	// Domain reports whether a domain record is verified: only verified
	// domains route sign-ins.
	Domain func(storage.Record) (verified bool, err error)
}

// Syncer keeps a Registry in step with the runtime configuration stored
// in the database (the admin API's records), on top of what the config
// file put there. Every replica polls the store's change feed, so a
// change made on one is in force on all within a poll; the replica that
// made it calls Sync before it answers, so its own answer already holds.
type Syncer struct {
	Registry *Registry
	Store    storage.Records
	Decode   Decoder
	// Deps builds runtime connections' providers: their HTTP client
	// guards against requests into private networks (netguard).
	Deps providers.Deps
	Log  *slog.Logger

	mu   sync.Mutex // one sync at a time; guards what follows
	seq  int64      // the highest Seq applied
	conn map[string]*callback.Upstream
	// domains holds each connection's verified domains; domainOf the
	// connection of each verified domain.
	domains  map[string][]string
	domainOf map[string]string
	// file names the upstreams the registry held before the first Sync:
	// config.toml's providers. A record of the same name (a provider added
	// to the file after the connection was made) neither replaces one nor,
	// deleted, removes it.
	file map[string]bool
}

// Sync applies every change stored since the last Sync. A record that
// does not decode (written by a newer broker, say) is logged and skipped:
// one bad record must not keep the others from taking effect.
func (s *Syncer) Sync(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	recs, err := s.Store.RecordChanges(ctx, s.seq)
	if err != nil {
		return err
	}
	if len(recs) == 0 {
		return nil
	}
	if s.conn == nil {
		s.conn, s.domains, s.domainOf = map[string]*callback.Upstream{}, map[string][]string{}, map[string]string{}
		s.file = map[string]bool{}
		for name := range s.Registry.load().upstreams {
			s.file[name] = true
		}
	}
	// The batch's outcome per tenant (nil: removed) and the connections
	// whose upstream is published again; the last record of an id wins.
	tenants := map[string]*Tenant{}
	touched := map[string]bool{}
	for _, r := range recs {
		s.seq = max(s.seq, r.Seq)
		if err := s.apply(r, tenants, touched); err != nil {
			s.Log.Error("runtime configuration record skipped", "kind", r.Kind, "id", r.ID, "err", err)
		}
	}
	var c Change
	for id, t := range tenants {
		if t == nil {
			c.RemoveTenants = append(c.RemoveTenants, id)
		} else {
			c.Tenants = append(c.Tenants, t)
		}
	}
	for name := range touched {
		if s.file[name] {
			continue
		}
		up, ok := s.conn[name]
		if !ok {
			c.RemoveUpstreams = append(c.RemoveUpstreams, name)
			continue
		}
		published := *up
		published.Domains = slices.Clone(s.domains[name])
		c.Upstreams = append(c.Upstreams, &published)
	}
	s.Registry.Apply(c)
	return nil
}

func (s *Syncer) apply(r storage.Record, tenants map[string]*Tenant, touched map[string]bool) error {
	switch r.Kind {
	case storage.KindTenant:
		if r.Deleted {
			tenants[r.ID] = nil
			return nil
		}
		t, err := s.Decode.Tenant(r)
		if err != nil {
			return err
		}
		if tenants[r.ID], err = NewTenant(t); err != nil {
			return err
		}
	case storage.KindConnection:
		if s.file[r.ID] {
			if r.Deleted {
				return nil
			}
			return fmt.Errorf("connection %s: config.toml has a provider of this name, which stays in force", r.ID)
		}
		touched[r.ID] = true
		if r.Deleted {
			delete(s.conn, r.ID)
			return nil
		}
		p, err := s.Decode.Connection(r)
		if err != nil {
			return err
		}
		up, err := NewUpstream(p, s.Deps)
		if err != nil {
			return err
		}
		up.Owner = r.Owner
		s.conn[r.ID] = up
	case storage.KindDomain:
		verified := false
		if !r.Deleted {
			var err error
			if verified, err = s.Decode.Domain(r); err != nil {
				return err
			}
		}
		if old, ok := s.domainOf[r.ID]; ok {
			s.domains[old] = slices.DeleteFunc(s.domains[old], func(d string) bool { return d == r.ID })
			delete(s.domainOf, r.ID)
			touched[old] = true
		}
		if verified {
			s.domainOf[r.ID] = r.Owner
			s.domains[r.Owner] = append(s.domains[r.Owner], r.ID)
			touched[r.Owner] = true
		}
	default:
		return fmt.Errorf("unknown record kind %q", r.Kind)
	}
	return nil
}
