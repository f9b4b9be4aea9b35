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

// TestJobTakeover: a worker that stops extending its lease (as when its process dies)
// loses the job to another once the lease expires, and can no longer complete it.
func TestJobTakeover(t *testing.T) {
	s := pgtest.OpenStore(t)
	id, err := s.EnqueueJob(t.Context(), "pull", []byte("peer-jp"), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.LeaseJob(t.Context(), "dead", []string{"pull"}, 300*time.Millisecond)
	if err != nil || a.ID != id || a.Attempts != 1 || string(a.Payload) != "peer-jp" {
		t.Fatalf("first lease: %+v, %v", a, err)
	}
	if _, err := s.LeaseJob(t.Context(), "alive", []string{"pull"}, time.Minute); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("lease while another holds it: %v; want ErrNotFound", err)
	}
	time.Sleep(400 * time.Millisecond)
	b, err := s.LeaseJob(t.Context(), "alive", []string{"pull"}, time.Minute)
	if err != nil || b.ID != id || b.Attempts != 2 {
		t.Fatalf("takeover after expiry: %+v, %v", b, err)
	}
	if err := s.CompleteJob(t.Context(), id, "dead"); !errors.Is(err, postgres.ErrLeaseLost) {
		t.Fatalf("complete by the old holder: %v; want ErrLeaseLost", err)
	}
	if err := s.ExtendJob(t.Context(), id, "dead", time.Minute); !errors.Is(err, postgres.ErrLeaseLost) {
		t.Fatalf("extend by the old holder: %v; want ErrLeaseLost", err)
	}
	if err := s.ExtendJob(t.Context(), id, "alive", time.Minute); err != nil {
		t.Fatalf("extend: %v", err)
	}
	if err := s.FailJob(t.Context(), id, "alive", "peer unreachable", time.Now().Add(-time.Second)); err != nil {
		t.Fatalf("fail: %v", err)
	}
	c, err := s.LeaseJob(t.Context(), "alive", []string{"pull"}, time.Minute)
	if err != nil || c.ID != id || c.Attempts != 3 {
		t.Fatalf("lease after a failure: %+v, %v", c, err)
	}
	if err := s.CompleteJob(t.Context(), id, "alive"); err != nil {
		t.Fatalf("complete: %v", err)
	}
	if _, err := s.LeaseJob(t.Context(), "alive", []string{"pull"}, time.Minute); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("lease after completion: %v; want ErrNotFound", err)
	}
	if err := s.CompleteJob(t.Context(), id, "alive"); !errors.Is(err, postgres.ErrLeaseLost) {
		t.Fatalf("complete twice: %v; want ErrLeaseLost", err)
	}
}
