package sqlite

import "testing"

// TestConnectionMutexes: the connections a store opens get the do-nothing mutex,
// and the store works with it (the package's concurrent tests, under -race, are
// the rest of the proof).
func TestConnectionMutexes(t *testing.T) {
	before := connMutexes.Load()
	s := openTemp(t)
	defer s.Close()
	if _, err := s.Collections(t.Context()); err != nil {
		t.Fatal(err)
	}
	if !connMutexesOn.Load() {
		t.Fatal("the connections' mutexes were not set up")
	}
	if n := connMutexes.Load() - before; n < 2 {
		t.Fatalf("%d connections opened with the do-nothing mutex, want the writer's and a reader's at least", n)
	}
}
