package sqlite

import (
	"path/filepath"
	"testing"

	"github.com/socialbroker/broker/storage"
	"github.com/socialbroker/broker/storage/storagetest"
)

// BenchmarkStore runs the shared store benchmarks on a real file, fsync
// included (synchronous=FULL).
func BenchmarkStore(b *testing.B) {
	storagetest.Bench(b, func(tb testing.TB) storage.Store {
		return openTemp(tb, filepath.Join(tb.TempDir(), "broker.db"))
	})
}
