package tokens

import (
	"sync"
	"time"
)

// cache is a bounded map whose entries expire. When full, it drops the
// expired entries, then an arbitrary eighth of the rest (map order is
// random), so a flood of distinct keys costs bounded memory and work.
type cache[K comparable, V any] struct {
	max     int
	mu      sync.RWMutex
	entries map[K]cacheEntry[V]
}

type cacheEntry[V any] struct {
	value   V
	expires time.Time
}

func newCache[K comparable, V any](max int) *cache[K, V] {
	return &cache[K, V]{max: max, entries: make(map[K]cacheEntry[V])}
}

// get returns the value for k unless it is missing or expired at now.
func (c *cache[K, V]) get(k K, now time.Time) (V, bool) {
	c.mu.RLock()
	e, ok := c.entries[k]
	c.mu.RUnlock()
	if !ok || !e.expires.After(now) {
		var zero V
		return zero, false
	}
	return e.value, true
}

func (c *cache[K, V]) put(k K, v V, expires, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max {
		c.evict(now)
	}
	c.entries[k] = cacheEntry[V]{value: v, expires: expires}
}

func (c *cache[K, V]) remove(k K) {
	c.mu.Lock()
	delete(c.entries, k)
	c.mu.Unlock()
}

func (c *cache[K, V]) evict(now time.Time) {
	for k, e := range c.entries {
		if !e.expires.After(now) {
			delete(c.entries, k)
		}
	}
	drop := len(c.entries) - c.max*7/8
	for k := range c.entries {
		if drop <= 0 {
			break
		}
		delete(c.entries, k)
		drop--
	}
}
