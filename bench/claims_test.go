package main

import (
	"testing"

	"github.com/socialbroker/broker/internal/config"
)

// The bench tenant's claims are a valid config for every -claims value.
func TestClaimsTOML(t *testing.T) {
	fake := fakeURLs{Google: "http://127.0.0.1:1", GitHub: "http://127.0.0.1:2", GitHubAPI: "http://127.0.0.1:2/api/v3"}
	for _, n := range []int{0, 1, 3, maxBenchClaims} {
		cfg, err := config.Parse([]byte(brokerConfig("http://127.0.0.1:3", "127.0.0.1:3", "sqlite:x.db", "info", fake)+claimsTOML(n)), func(string) string { return "" })
		if err != nil {
			t.Fatalf("-claims %d: %v", n, err)
		}
		if got := len(cfg.Tenants[0].Claims); got != n {
			t.Errorf("-claims %d: the tenant has %d claims", n, got)
		}
	}
}
