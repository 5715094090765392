package postgres

import (
	"testing"

	"github.com/socialbroker/broker/storage"
	"github.com/socialbroker/broker/storage/postgres/pgtest"
	"github.com/socialbroker/broker/storage/storagetest"
)

// BenchmarkStore runs the shared store benchmarks against the test server
// (BROKER_TEST_POSTGRES), commit included.
func BenchmarkStore(b *testing.B) {
	storagetest.Bench(b, func(tb testing.TB) storage.Store {
		return openTest(tb, pgtest.DSN(tb))
	})
}
