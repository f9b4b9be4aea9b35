package taxii

import (
	"context"
	"fmt"
	"sync"
	"time"

	"quadshare/internal/store"
)

// The snapshot bound of a walk (§3.5).
//
// A walk through a collection pages in ascending date_added with a cursor, so no entry
// is returned twice. To return every entry that existed at the first page exactly once,
// at the version that was first or last then, every page of the walk is bounded by
// Query.AddedUpTo = the newest date_added committed in the collection at the first page.
// Entries committed later have a greater date_added (the store assigns date_added
// strictly increasing inside its single writer's transaction), so they stay out.
//
// The wall clock is not such a bound: a transaction takes its date_added when it
// starts and commits later, so "now" can be above the date_added of an entry that is
// not yet visible and will be later; and a burst of additions runs ahead of the clock.
// Only a date_added that was committed is a safe bound. The server remembers the
// greatest committed date_added it has seen (from Put results and from these probes);
// entries after it in the collection are found with one ascending query. When nothing is
// known yet (a fresh process), the newest entry is found by a bounded search.

// newestCommitted is the greatest committed date_added this server has seen, in any
// collection. Every later commit in any collection has a greater date_added.
type newestCommitted struct {
	mu sync.Mutex
	t  time.Time
}

func (n *newestCommitted) get() time.Time {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.t
}

func (n *newestCommitted) raise(t time.Time) {
	n.mu.Lock()
	if t.After(n.t) {
		n.t = t
	}
	n.mu.Unlock()
}

// lastAdder is a store that can tell the newest date_added of a collection directly;
// the search below is then not needed.
type lastAdder interface {
	LastAdded(ctx context.Context, collection string) (time.Time, error)
}

// emptyBound bounds a walk of a collection that had no entry: it admits none.
var emptyBound = time.UnixMicro(1).UTC()

// maxForwardPages bounds the pages read to catch up with additions since the newest
// date_added known; beyond it the bound stops there (a later first page catches up).
const maxForwardPages = 1000

// snapshot returns the AddedUpTo bound for a walk of collection starting now.
func (s *Server) snapshot(ctx context.Context, collection string) (time.Time, error) {
	if la, ok := s.store.(lastAdder); ok {
		t, err := la.LastAdded(ctx, collection)
		if err != nil {
			return time.Time{}, fmt.Errorf("taxii: snapshot: %w", err)
		}
		if t.IsZero() {
			return emptyBound, nil
		}
		return t, nil
	}
	b := s.newest.get()
	if b.IsZero() {
		t, err := s.searchNewest(ctx, collection)
		if err != nil {
			return time.Time{}, err
		}
		if t.IsZero() {
			return emptyBound, nil
		}
		b = t
	}
	for range maxForwardPages {
		pg, err := s.store.Query(ctx, store.Query{Collection: collection, AddedAfter: b,
			Versions: store.VersionFilter{All: true}, Limit: 1000})
		if err != nil {
			return time.Time{}, fmt.Errorf("taxii: snapshot: %w", err)
		}
		if n := len(pg.Entries); n > 0 {
			b = pg.Entries[n-1].DateAdded
		}
		if !pg.More {
			break
		}
	}
	s.newest.raise(b)
	return b, nil
}

// searchNewest finds the newest committed date_added of a collection with ascending
// queries of one entry: after(t) is the first entry added after t. It gallops back from
// the clock to a time with an entry after it, then narrows down; about two probes per
// bit of the distance to the newest entry. The zero time means the collection is empty.
func (s *Server) searchNewest(ctx context.Context, collection string) (time.Time, error) {
	after := func(us int64) (int64, bool, error) {
		pg, err := s.store.Query(ctx, store.Query{Collection: collection, AddedAfter: time.UnixMicro(us),
			Versions: store.VersionFilter{All: true}, Limit: 1})
		if err != nil || len(pg.Entries) == 0 {
			return 0, false, err
		}
		return pg.Entries[0].DateAdded.UnixMicro(), true, nil
	}
	// lo: a committed date_added (newest >= lo); hi: nothing after it (newest <= hi).
	hi := s.now().UnixMicro()
	lo, ok, err := after(hi)
	if err != nil {
		return time.Time{}, fmt.Errorf("taxii: snapshot: %w", err)
	}
	if ok { // the store runs ahead of the clock: walk forward instead
		return time.UnixMicro(lo).UTC(), nil
	}
	for step := int64(1000); ; step *= 4 {
		probe := max(hi-step, 1)
		d, ok, err := after(probe)
		if err != nil {
			return time.Time{}, fmt.Errorf("taxii: snapshot: %w", err)
		}
		if ok {
			lo = d
			break
		}
		if probe == 1 {
			return time.Time{}, nil // empty
		}
		hi = probe
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		d, ok, err := after(mid)
		if err != nil {
			return time.Time{}, fmt.Errorf("taxii: snapshot: %w", err)
		}
		if ok {
			lo = d
		} else {
			hi = mid
		}
	}
	return time.UnixMicro(lo).UTC(), nil
}
