package tenants

import (
	"fmt"

	"github.com/socialbroker/broker/callback"
	"github.com/socialbroker/broker/internal/config"
	"github.com/socialbroker/broker/providers"
)

// NewUpstream builds the upstream a [providers.NAME] section (or a
// connection of the same shape) describes. It contacts nobody.
func NewUpstream(p *config.Provider, deps providers.Deps) (*callback.Upstream, error) {
	up := &callback.Upstream{Name: p.Name, Type: p.Type, Label: p.DisplayName}
	var err error
	up.Provider, err = providers.New(p.Spec, deps)
	if err != nil {
		return nil, fmt.Errorf("providers.%s: %w", p.Name, err)
	}
	// RFC 9207: the iss an authorization response may carry.
	if ip, ok := up.Provider.(interface{ Issuer() string }); ok {
		up.Issuer = ip.Issuer()
	}
	return up, nil
}

// FromConfig fills an empty registry with the tenants and providers of
// cfg.
func FromConfig(cfg *config.Config, deps providers.Deps) (*Registry, error) {
	var c Change
	for name := range cfg.Providers {
		p := cfg.Providers[name]
		p.Name = name
		up, err := NewUpstream(&p, deps)
		if err != nil {
			return nil, err
		}
		c.Upstreams = append(c.Upstreams, up)
	}
	for i := range cfg.Tenants {
		t, err := NewTenant(&cfg.Tenants[i])
		if err != nil {
			return nil, err
		}
		c.Tenants = append(c.Tenants, t)
	}
	r := &Registry{}
	r.Apply(c)
	return r, nil
}
