package sqlite

import (
	"path/filepath"
	"testing"

	"quadshare/internal/store"
	"quadshare/internal/store/storetest"
)

// openTemp opens a fresh store in the test's temporary directory.
func openTemp(t testing.TB) *Store {
	t.Helper()
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "quadshare.db"))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t) })
}
