package postgres_test

import (
	"testing"

	"quadshare/internal/store"
	"quadshare/internal/store/postgres"
	"quadshare/internal/store/postgres/pgtest"
	"quadshare/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return pgtest.OpenStore(t, postgres.WithAuditKey(storetest.AuditKey)) })
}

// TestConformanceSerializable runs the suite with every transaction SERIALIZABLE, as on
// CockroachDB: concurrent writers then lose serialization races and must be retried.
// PostgreSQL aborts every Put that ran concurrently with another (both write the clock
// row), so on a loaded machine the suite's four concurrent writers need more attempts
// than the default.
func TestConformanceSerializable(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return pgtest.OpenStore(t, postgres.WithSerializable(), postgres.WithMaxAttempts(100), postgres.WithAuditKey(storetest.AuditKey))
	})
}

// TestConnectionSettings: no connection of the pool runs parallel query
// (connectionSettings).
func TestConnectionSettings(t *testing.T) {
	s := pgtest.OpenStore(t)
	var got string
	if err := s.Pool().QueryRow(t.Context(), "SHOW max_parallel_workers_per_gather").Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != "0" {
		t.Errorf("max_parallel_workers_per_gather = %s, want 0", got)
	}
}
