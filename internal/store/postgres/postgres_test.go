package postgres_test

import (
	"testing"

	"quadshare/internal/store"
	"quadshare/internal/store/postgres"
	"quadshare/internal/store/postgres/pgtest"
	"quadshare/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return pgtest.OpenStore(t) })
}

// TestConformanceSerializable runs the suite with every transaction SERIALIZABLE, as on
// CockroachDB: concurrent writers then lose serialization races and must be retried.
func TestConformanceSerializable(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return pgtest.OpenStore(t, postgres.WithSerializable()) })
}
