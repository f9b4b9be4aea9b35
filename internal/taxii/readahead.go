package taxii

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"quadshare/internal/stix"
	"quadshare/internal/store"
)

// readAhead queries the store for the next page of a paginated walk while the
// current page is sent: a client that followed one next link will most likely
// follow the one it is given, and its page's query then overlaps the sending and
// the client's reading of the page before, on another core (on PostgreSQL, in the
// database server). Only stored entries are read ahead. What the principal may
// receive is decided, and the disclosure recorded, when the page is asked for.
//
// A page read ahead is used only for the exact query it was read for, within
// aheadTTL of its start, and not when a delete went through this server since it
// started. A delete made elsewhere (a report's triage, another process on
// PostgreSQL) may therefore be missed by a page read ahead up to aheadTTL
// before it, as by any page whose query ran before the delete committed.
type readAhead struct {
	mu      sync.Mutex
	pages   map[string]*ahead // by the next token that continues with the page
	closed  bool              // under mu
	deletes atomic.Uint64     // deletes begun or ended through this server
	running sync.WaitGroup
}

// ahead is one page read ahead; pg and err are set when done is closed.
type ahead struct {
	q     store.Query
	gen   uint64 // readAhead.deletes when it started
	start time.Time
	done  chan struct{}
	pg    store.Page
	err   error
}

// maxAhead bounds the pages read ahead at once (each at most a page of the
// server's largest size); aheadTTL bounds how long one is kept unasked.
const (
	maxAhead = 16
	aheadTTL = time.Second
)

// start reads q ahead, for the request that will carry token, unless maxAhead
// pages are already kept.
func (r *readAhead) start(ctx context.Context, st store.Store, token string, q store.Query, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, a := range r.pages {
		if now.Sub(a.start) > aheadTTL {
			delete(r.pages, k)
		}
	}
	if len(r.pages) >= maxAhead || r.closed {
		return
	}
	if r.pages == nil {
		r.pages = map[string]*ahead{}
	}
	a := &ahead{q: q, gen: r.deletes.Load(), start: now, done: make(chan struct{})}
	r.pages[token] = a
	r.running.Go(func() {
		defer close(a.done)
		ctx, cancel := context.WithTimeout(ctx, aheadTTL)
		defer cancel()
		a.pg, a.err = st.Query(ctx, q)
	})
}

// take returns the page read ahead for the request carrying token, when there is
// one for q still valid; it waits for a read in progress.
func (r *readAhead) take(ctx context.Context, token string, q store.Query, now time.Time) (store.Page, bool) {
	r.mu.Lock()
	a := r.pages[token]
	delete(r.pages, token)
	r.mu.Unlock()
	if a == nil || now.Sub(a.start) > aheadTTL || !sameQuery(a.q, q) {
		return store.Page{}, false
	}
	select {
	case <-a.done:
	case <-ctx.Done():
		return store.Page{}, false
	}
	if a.err != nil || a.gen != r.deletes.Load() {
		return store.Page{}, false
	}
	return a.pg, true
}

// close waits for the reads in progress; later ones are not started. Cancel
// their context first.
func (r *readAhead) close() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.running.Wait()
}

// deleting brackets a delete: a page read ahead across it is not used.
func (r *readAhead) deleting() (done func()) {
	r.deletes.Add(1)
	return func() { r.deletes.Add(1) }
}

// sameQuery reports whether a and b select the same entries.
func sameQuery(a, b store.Query) bool {
	sameTimes := slices.EqualFunc(a.Versions.Exact, b.Versions.Exact, func(x, y stix.Timestamp) bool { return x.Key() == y.Key() })
	return a.Collection == b.Collection && a.AddedAfter.Equal(b.AddedAfter) && a.AddedUpTo.Equal(b.AddedUpTo) &&
		slices.Equal(a.IDs, b.IDs) && slices.Equal(a.Types, b.Types) && slices.Equal(a.SpecVersions, b.SpecVersions) &&
		a.Versions.First == b.Versions.First && a.Versions.Last == b.Versions.Last && a.Versions.All == b.Versions.All &&
		sameTimes && a.Submitter == b.Submitter && a.Limit == b.Limit
}
