package store

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"quadshare/internal/audit"
)

// Fifty concurrent callers share a few transactions, each returns only after
// the transaction holding its entries, and every entry is committed once.
func TestAuditGroupCommits(t *testing.T) {
	var mu sync.Mutex
	var committed []audit.Entry
	var calls atomic.Int64
	var inCommit atomic.Int32
	g := &AuditGroup{Commit: func(ctx context.Context, es []audit.Entry) error {
		if inCommit.Add(1) != 1 {
			t.Error("two commits at once")
		}
		defer inCommit.Add(-1)
		calls.Add(1)
		time.Sleep(5 * time.Millisecond) // a commit's fsync
		mu.Lock()
		committed = append(committed, es...)
		mu.Unlock()
		return nil
	}}
	const callers = 50
	var wg sync.WaitGroup
	for i := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := audit.Entry{Kind: audit.Disclosure, Time: time.Now(), Actor: "user:" + string(rune('A'+i))}
			if err := g.Append(context.Background(), []audit.Entry{e, e}); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			n := 0
			for _, c := range committed {
				if c.Actor == e.Actor {
					n++
				}
			}
			if n != 2 {
				t.Errorf("caller %d returned with %d of its 2 entries committed", i, n)
			}
		}()
	}
	wg.Wait()
	if len(committed) != 2*callers {
		t.Fatalf("%d entries committed, want %d", len(committed), 2*callers)
	}
	if n := calls.Load(); n > callers/3 {
		t.Fatalf("%d transactions for %d callers: not grouped", n, callers)
	}
	t.Logf("%d callers, %d transactions", callers, calls.Load())
}

// A failed transaction fails every call in it; a bad entry fails only its own
// call and never reaches a transaction.
func TestAuditGroupErrors(t *testing.T) {
	boom := errors.New("disk full")
	var fail atomic.Bool
	var seen atomic.Int64
	g := &AuditGroup{Commit: func(ctx context.Context, es []audit.Entry) error {
		seen.Add(int64(len(es)))
		if fail.Load() {
			return boom
		}
		return nil
	}}
	good := audit.Entry{Kind: audit.AuthEvent, Time: time.Now()}
	if err := g.Append(context.Background(), []audit.Entry{good, {Kind: "nope", Time: time.Now()}}); !errors.Is(err, audit.ErrInvalid) {
		t.Fatalf("bad entry: %v", err)
	}
	if seen.Load() != 0 {
		t.Fatal("a bad entry reached a transaction")
	}
	fail.Store(true)
	if err := g.Append(context.Background(), []audit.Entry{good}); !errors.Is(err, boom) {
		t.Fatalf("failed commit: %v", err)
	}
	fail.Store(false)
	if err := g.Append(context.Background(), []audit.Entry{good}); err != nil {
		t.Fatalf("after a failure: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := g.Append(ctx, []audit.Entry{good}); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	if err := g.Append(context.Background(), make([]audit.Entry, MaxAppend+1)); err == nil {
		t.Fatal("too many entries accepted")
	}
}

// A commit that does not return (a database that stalls) fails its callers when its
// own deadline passes, though their contexts have none.
func TestAuditGroupCommitBounded(t *testing.T) {
	g := &AuditGroup{Timeout: 50 * time.Millisecond, Commit: func(ctx context.Context, es []audit.Entry) error {
		<-ctx.Done()
		return ctx.Err()
	}}
	e := audit.Entry{Kind: audit.Disclosure, Time: time.Now(), Actor: "user:u", Subject: "collection:c",
		Objects: []audit.ObjectRef{{ID: "indicator--00000000-0000-4000-8000-000000000000", Version: "2026-01-01T00:00:00.000Z"}}}
	done := make(chan error, 1)
	go func() { done <- g.Append(context.Background(), []audit.Entry{e}) }()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("append to a stalled commit: %v, want the commit's deadline", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("append to a stalled commit did not return")
	}
}

func TestTextual(t *testing.T) {
	for in, want := range map[string]string{
		"plain ✓":   "plain ✓",
		"a\x00b":    `a\u0000b`,
		"\xff\xc3(": "\uFFFD(",
		"":          "",
	} {
		if got := Textual(in); got != want {
			t.Errorf("Textual(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestDisclosedKey: the keys are stored (SQLite's trail file, PostgreSQL's
// object_keys), so they must not change from one build to the next.
func TestDisclosedKey(t *testing.T) {
	for id, want := range map[string]int64{
		"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f": 5490859677970137786,
		"x": -2433940903671423637,
	} {
		if got := DisclosedKey(id); got != want {
			t.Errorf("DisclosedKey(%q) = %d, want %d", id, got, want)
		}
	}
	var keys []int64
	refs := []audit.ObjectRef{{ID: "a", Version: "1"}, {ID: "a", Version: "2"}, {ID: "b", Version: "1"}, {ID: "a", Version: "3"}}
	EachDisclosedKey(refs, func(k int64) { keys = append(keys, k) })
	a, b := DisclosedKey("a"), DisclosedKey("b")
	if !slices.Equal(keys, []int64{a, b, a}) {
		t.Errorf("EachDisclosedKey: %v, want the keys of a, b, a", keys)
	}
}
