package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"quadshare/internal/store"
)

// testJobTakeover: a worker that stops extending its lease (as when its process
// dies) loses the job to another once the lease expires, and can no longer
// complete it; a failed job comes back; a completed one never does.
func testJobTakeover(t *testing.T, s store.Store) {
	id, err := s.EnqueueJob(ctx(t), "pull", []byte("peer-jp"), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.EnqueueJob(ctx(t), "pull", nil, time.Now().Add(time.Hour)); err != nil { // not due
		t.Fatal(err)
	}
	if n, err := s.PendingJobs(ctx(t), "pull"); err != nil || n != 2 {
		t.Fatalf("pending: %d, %v; want 2", n, err)
	}
	a, err := s.LeaseJob(ctx(t), "dead", []string{"other", "pull"}, 300*time.Millisecond)
	if err != nil || a.ID != id || a.Attempts != 1 || string(a.Payload) != "peer-jp" || a.Kind != "pull" {
		t.Fatalf("first lease: %+v, %v", a, err)
	}
	if _, err := s.LeaseJob(ctx(t), "alive", []string{"pull"}, time.Minute); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("lease while another holds it: %v; want ErrNotFound", err)
	}
	time.Sleep(400 * time.Millisecond)
	b, err := s.LeaseJob(ctx(t), "alive", []string{"pull"}, time.Minute)
	if err != nil || b.ID != id || b.Attempts != 2 {
		t.Fatalf("takeover after expiry: %+v, %v", b, err)
	}
	if err := s.CompleteJob(ctx(t), id, "dead"); !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("complete by the old holder: %v; want ErrLeaseLost", err)
	}
	if err := s.ExtendJob(ctx(t), id, "dead", time.Minute); !errors.Is(err, store.ErrLeaseLost) {
		t.Fatalf("extend by the old holder: %v; want ErrLeaseLost", err)
	}
	if err := s.ExtendJob(ctx(t), id, "alive", time.Minute); err != nil {
		t.Fatalf("extend: %v", err)
	}
	if err := s.FailJob(ctx(t), id, "alive", "peer unreachable", time.Now().Add(-time.Second)); err != nil {
		t.Fatalf("fail: %v", err)
	}
	c, err := s.LeaseJob(ctx(t), "alive", []string{"pull"}, time.Minute)
	if err != nil || c.ID != id || c.Attempts != 3 {
		t.Fatalf("lease after a failure: %+v, %v", c, err)
	}
	if err := s.CompleteJob(ctx(t), id, "alive"); err != nil {
		t.Fatalf("complete: %v", err)
	}
	if _, err := s.LeaseJob(ctx(t), "alive", []string{"pull"}, time.Minute); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a completed job came back: %v", err)
	}
	if n, err := s.PendingJobs(ctx(t), "pull"); err != nil || n != 1 {
		t.Fatalf("pending after completion: %d, %v; want 1", n, err)
	}
	// Hostile arguments are refused.
	if _, err := s.LeaseJob(ctx(t), "w", []string{"pull"}, 0); err == nil {
		t.Fatal("a zero lease was accepted")
	}
	if _, err := s.LeaseJob(ctx(t), "", []string{"pull"}, time.Minute); err == nil {
		t.Fatal("a lease without a worker was accepted")
	}
	if _, err := s.EnqueueJob(ctx(t), "", nil, time.Time{}); err == nil {
		t.Fatal("a job without a kind was accepted")
	}
}

// testJobsRunOnce: four workers drain 100 jobs; each job is completed once.
func testJobsRunOnce(t *testing.T, s store.Store) {
	want := map[string]bool{}
	for i := range 100 {
		id, err := s.EnqueueJob(ctx(t), "push", fmt.Appendf(nil, "payload %d", i), time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		want[id] = true
	}
	var mu sync.Mutex
	done := map[string]int{}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprint("worker-", w)
			for {
				j, err := s.LeaseJob(ctx(t), name, []string{"push"}, time.Minute)
				if errors.Is(err, store.ErrNotFound) {
					return
				}
				if err == nil {
					err = s.CompleteJob(ctx(t), j.ID, name)
				}
				if err != nil {
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
			t.Fatalf("job %s done %d times", id, n)
		}
	}
}
