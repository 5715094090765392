package tokens

import (
	"crypto/sha256"
	"sync"
	"time"
)

// verifiedCacheSize bounds the verified-token cache: about 300 bytes an
// entry, so a few megabytes at most.
const verifiedCacheSize = 16384

// verifiedCache remembers access tokens whose signature and claims have
// been checked, so that an app calling /auth/check with the same token
// again costs a hash and a map lookup instead of a signature
// verification. Entries are keyed by SHA-256 of the token (the cache
// holds no token) and are only used until the token's exp; revocation is
// checked on every use, outside the cache.
type verifiedCache struct {
	mu      sync.RWMutex
	entries map[[sha256.Size]byte]*AccessClaims
}

func newVerifiedCache() *verifiedCache {
	return &verifiedCache{entries: make(map[[sha256.Size]byte]*AccessClaims)}
}

func (c *verifiedCache) get(key [sha256.Size]byte) *AccessClaims {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.entries[key]
}

func (c *verifiedCache) put(key [sha256.Size]byte, claims *AccessClaims, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= verifiedCacheSize {
		c.evict(now)
	}
	c.entries[key] = claims
}

func (c *verifiedCache) remove(key [sha256.Size]byte) {
	c.mu.Lock()
	delete(c.entries, key)
	c.mu.Unlock()
}

// evict drops expired entries, then, if that freed too little, an
// arbitrary eighth of the rest (map order is random), so a flood of
// distinct tokens costs a bounded amount of memory and work.
func (c *verifiedCache) evict(now time.Time) {
	for k, v := range c.entries {
		if !v.ExpiresAt.After(now) {
			delete(c.entries, k)
		}
	}
	drop := len(c.entries) - verifiedCacheSize*7/8
	for k := range c.entries {
		if drop <= 0 {
			break
		}
		delete(c.entries, k)
		drop--
	}
}
