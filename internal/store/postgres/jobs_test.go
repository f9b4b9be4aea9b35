package postgres_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"quadshare/internal/store"
	"quadshare/internal/store/postgres"
	"quadshare/internal/store/postgres/pgtest"
)

// TestJobsRunOnce has four workers, each with its own connection pool as separate
// processes would have, drain 200 jobs: each job must be completed exactly once.
func TestJobsRunOnce(t *testing.T) {
	url := pgtest.NewDatabase(t)
	open := func() *postgres.Store {
		s, err := postgres.Open(t.Context(), pgtest.WithPoolSize(url, 2))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	s := open()
	want := map[string]bool{}
	for i := range 200 {
		id, err := s.EnqueueJob(t.Context(), "push", fmt.Appendf(nil, "payload %d", i), time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		want[id] = true
	}
	if _, err := s.EnqueueJob(t.Context(), "push", nil, time.Now().Add(time.Hour)); err != nil { // not due
		t.Fatal(err)
	}
	if _, err := s.EnqueueJob(t.Context(), "other", nil, time.Time{}); err != nil { // another kind
		t.Fatal(err)
	}
	var mu sync.Mutex
	done := map[string]int{}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 4 {
		ws := open()
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprint("worker-", w)
			for {
				j, err := ws.LeaseJob(t.Context(), name, []string{"push"}, time.Minute)
				if errors.Is(err, store.ErrNotFound) {
					return
				}
				if err != nil {
					errs <- err
					return
				}
				if err := ws.CompleteJob(t.Context(), j.ID, name); err != nil {
					errs <- err
					return
				}
				mu.Lock()
				done[j.ID]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(done) != len(want) {
		t.Fatalf("%d jobs done, want %d", len(done), len(want))
	}
	for id, n := range done {
		if !want[id] || n != 1 {
			t.Fatalf("job %s done %d times (enqueued: %v)", id, n, want[id])
		}
	}
}
