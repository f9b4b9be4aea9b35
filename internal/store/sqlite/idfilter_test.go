package sqlite

import (
	"math/rand/v2"
	"path/filepath"
	"testing"

	"quadshare/internal/stix"
	"quadshare/internal/store"
	"quadshare/internal/store/storetest"
)

func TestIDFilter(t *testing.T) {
	f := newIDFilter(100_000)
	rng := rand.New(rand.NewPCG(1, 2))
	in := make([]int64, 100_000)
	for i := range in {
		in[i] = rng.Int64()
		f.add(in[i])
	}
	for _, h := range in {
		if !f.mayHave(h) {
			t.Fatalf("%d added but not found", h)
		}
	}
	fp := 0
	const probes = 100_000
	for range probes {
		if f.mayHave(rng.Int64()) {
			fp++
		}
	}
	if fp > probes/200 {
		t.Errorf("%d false positives in %d, want at most 0.5%%", fp, probes)
	}
}

// TestIDFilterOtherWriter has two stores write one database file, as two processes
// would: each finds what the other stored, though its filter did not hold it.
func TestIDFilterOtherWriter(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.db")
	a, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := t.Context()
	col := mustCollection(t, a)
	objs := make([]stix.Object, 6)
	for i := range objs {
		objs[i] = storetest.Indicator(t, i, "2024-06-01T12:00:00.000Z")
	}
	put := func(s *Store, objs []stix.Object, want store.Outcome) {
		t.Helper()
		res, err := s.Put(ctx, col, "", objs)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range res {
			if r.Outcome != want {
				t.Fatalf("object %d: %v, want %v", i, r.Outcome, want)
			}
		}
	}
	put(a, objs[:2], store.Added)      // a's filter is built here
	put(b, objs[2:4], store.Added)     // b's too, holding a's objects
	put(a, objs[2:4], store.Duplicate) // a catches up with b's
	put(a, objs[4:], store.Added)
	put(b, objs, store.Duplicate) // b catches up with a's
}
