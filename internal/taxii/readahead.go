package taxii

import (
	"context"
	"slices"
	"sync"
	"time"

	"quadshare/internal/stix"
	"quadshare/internal/store"
)

// readAhead queries the store for the next page of a paginated walk while the
// current page is disclosed and sent: a client that followed one next link will
// most likely follow the one it is given, and its page's query then overlaps the
// recording of the disclosure before it, the sending and the client's reading of
// that page, on another core (on PostgreSQL, in the database server). Only
// stored entries are read ahead. What the principal may receive is decided, and
// the disclosure recorded, when the page is asked for.
//
// A page read ahead is used only for the exact query it was read for, when its
// query began at most aheadTTL before, and when the store's count of deletions
// (store.Objects.Deletions: TAXII's, a report's triage, a partner's, by any
// process on the same database) is the one taken before that query.
type readAhead struct {
	mu      sync.Mutex
	pages   map[string]*ahead // by the next token that continues with the page
	reading int               // queries in progress, kept or not; under mu
	closed  bool              // under mu
	running sync.WaitGroup
}

// ahead is one page read ahead; pg and err are set when done is closed.
type ahead struct {
	q     store.Query
	gen   uint64 // the store's Deletions before the query
	start time.Time
	done  chan struct{}
	pg    store.Page
	err   error
}

// maxAhead bounds the pages read ahead at once (each at most a page of the
// server's largest size), counting those kept and those being read (a page kept
// while its query runs counts twice, for that while); aheadTTL bounds how long
// one is kept unasked.
const (
	maxAhead = 16
	aheadTTL = time.Second
)

// begin starts reading q ahead, before the token of the request that will ask
// for it is known, unless maxAhead pages are already being read or kept, and
// returns the read (nil if none) to keep. A read that is not kept is not
// cancelled (on PostgreSQL that costs a connection of its own): it ends, unused,
// at the latest at its deadline.
func (r *readAhead) begin(ctx context.Context, st store.Store, q store.Query) *ahead {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.prune()
	if len(r.pages)+r.reading >= maxAhead || r.closed {
		return nil
	}
	r.reading++
	a := &ahead{q: q, start: time.Now(), done: make(chan struct{})}
	r.running.Go(func() {
		defer close(a.done)
		ctx, cancel := context.WithDeadline(ctx, a.start.Add(aheadTTL)) // it is of no use after
		defer cancel()
		if a.gen, a.err = st.Deletions(ctx); a.err == nil {
			a.pg, a.err = st.Query(ctx, q)
		}
		r.mu.Lock()
		r.reading--
		r.mu.Unlock()
	})
	return a
}

// keep keeps a, begun by begin, for the request that will carry token.
func (r *readAhead) keep(token string, a *ahead) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pages == nil {
		r.pages = map[string]*ahead{}
	}
	r.pages[token] = a
}

// start reads q ahead for the request that will carry token, unless maxAhead
// pages are already being read or kept.
func (r *readAhead) start(ctx context.Context, st store.Store, token string, q store.Query) {
	if a := r.begin(ctx, st, q); a != nil {
		r.keep(token, a)
	}
}

// take returns the page read ahead for the request carrying token, when there is
// one for q still valid; it waits for a read in progress, which began before the
// request and so ends sooner than the same query would now.
func (r *readAhead) take(ctx context.Context, st store.Store, token string, q store.Query) (store.Page, bool) {
	r.mu.Lock()
	a := r.pages[token]
	delete(r.pages, token)
	r.prune()
	r.mu.Unlock()
	if a == nil || !sameQuery(a.q, q) || time.Since(a.start) > aheadTTL {
		return store.Page{}, false
	}
	select {
	case <-a.done:
	case <-ctx.Done():
		return store.Page{}, false
	}
	if a.err != nil || time.Since(a.start) > aheadTTL {
		return store.Page{}, false
	}
	if gen, err := st.Deletions(ctx); err != nil || gen != a.gen {
		return store.Page{}, false
	}
	return a.pg, true
}

// prune drops the pages kept longer than aheadTTL. Call it with mu held.
func (r *readAhead) prune() {
	for k, a := range r.pages {
		if time.Since(a.start) > aheadTTL {
			delete(r.pages, k)
		}
	}
}

// close waits for the reads in progress; later ones are not started. Cancel
// their context first.
func (r *readAhead) close() {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.running.Wait()
}

// sameQuery reports whether a and b select the same entries.
func sameQuery(a, b store.Query) bool {
	sameTimes := slices.EqualFunc(a.Versions.Exact, b.Versions.Exact, func(x, y stix.Timestamp) bool { return x.Key() == y.Key() })
	return a.Collection == b.Collection && a.AddedAfter.Equal(b.AddedAfter) && a.AddedUpTo.Equal(b.AddedUpTo) &&
		slices.Equal(a.IDs, b.IDs) && slices.Equal(a.Types, b.Types) && slices.Equal(a.SpecVersions, b.SpecVersions) &&
		a.Versions.First == b.Versions.First && a.Versions.Last == b.Versions.Last && a.Versions.All == b.Versions.All &&
		sameTimes && a.Submitter == b.Submitter && a.Limit == b.Limit
}
