package tokens

import (
	"encoding/base64"
	"testing"
	"time"
)

// TestNewTimeID: ids made later sort after, whatever their random part;
// they look like NewID's (22 URL-safe characters, 128 bits) and differ.
func TestNewTimeID(t *testing.T) {
	at := time.Date(2026, 12, 7, 17, 0, 0, 0, time.UTC)
	prev := NewTimeID(at)
	seen := map[string]bool{prev: true}
	for i := 1; i < 2000; i++ {
		id := NewTimeID(at.Add(time.Duration(i) * time.Millisecond))
		if id <= prev {
			t.Fatalf("id %d %q does not sort after %q", i, id, prev)
		}
		if len(id) != len(NewID()) {
			t.Fatalf("id %q: %d characters, want %d as NewID's", id, len(id), len(NewID()))
		}
		if _, err := base64.RawURLEncoding.DecodeString(id); err != nil {
			t.Fatalf("id %q is not URL-safe base64: %v", id, err)
		}
		if seen[id] {
			t.Fatalf("id %q made twice", id)
		}
		seen[id], prev = true, id
	}
	// Within one millisecond, the 80 random bits keep them apart.
	a, b := NewTimeID(at), NewTimeID(at)
	if a == b || a[:8] != b[:8] {
		t.Fatalf("two ids of one millisecond: %q, %q: want the same time part and different ids", a, b)
	}
}
