package sqlite

import (
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"quadshare/internal/stix"
	"quadshare/internal/store"
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
	objs := indicators(t, 6)
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

// waitFilter waits until the filter filled when s opened is ready for the next Put.
func waitFilter(t *testing.T, s *Store) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); s.idsNext.Load() == nil && s.ids == nil; {
		if time.Now().After(deadline) {
			t.Fatal("no id filter 10 s after Open")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestIDFilterFilledAtOpen reopens a store and finds its ids through the filter
// filled in the background, and without one.
func TestIDFilterFilledAtOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.db")
	s := openPath(t, path)
	ctx := t.Context()
	col := mustCollection(t, s)
	objs := indicators(t, 50)
	if _, err := s.Put(ctx, col, "", objs[:40]); err != nil {
		t.Fatal(err)
	}
	s = reopen(t, s, path)
	defer s.Close()
	s.idsNext.Store(nil) // the first Put finds no filter, as when it comes before the fill
	for s.idsFilling.Load() {
		time.Sleep(time.Millisecond)
	}
	s.idsNext.Store(nil)
	res, err := s.Put(ctx, col, "", objs[:10])
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Outcome != store.Duplicate {
			t.Fatalf("without a filter, object %d: %v, want a duplicate", i, r.Outcome)
		}
	}
	waitFilter(t, s) // that Put asked for one
	res, err = s.Put(ctx, col, "", objs)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if want := map[bool]store.Outcome{true: store.Duplicate, false: store.Added}[i < 40]; r.Outcome != want {
			t.Fatalf("with the filter, object %d: %v, want %v", i, r.Outcome, want)
		}
	}
	if s.ids == nil || !s.ids.mayHave(idHash(objs[45].ID)) || s.ids.upto != 50 {
		t.Fatalf("filter after the Puts: %+v", s.ids)
	}
}
