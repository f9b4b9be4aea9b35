package taxii

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"quadshare/internal/audit"
	"quadshare/internal/auth"
	"quadshare/internal/gate"
	"quadshare/internal/policy"
	"quadshare/internal/stix"
	"quadshare/internal/store"
)

// TestReadAhead: a continuation page is read ahead while the page before is sent,
// and the request for it then queries nothing; a delete of the store in between
// (here not through TAXII, as a report's triage deletes) makes it read again, so
// the deleted object is not on it.
func TestReadAhead(t *testing.T) {
	var counted *countingStore
	e := newEnvOver(t, Config{}, func(st store.Store) store.Store {
		counted = &countingStore{Store: st}
		return counted
	})
	for n := range 6 {
		e.post("admin", collA, sdo("tool", n, "2020-01-01T00:00:00.000Z"))
	}
	objects := e.root + "collections/" + collA + "/objects/?limit=1"
	// walk gets a page and returns its object, the next token, and the queries
	// made for it, those read ahead included.
	walk := func(next string) (id, token string, queries int32) {
		t.Helper()
		u := objects
		if next != "" {
			u += "&next=" + url.QueryEscape(next)
		}
		n0 := counted.queries.Load()
		r := e.get("reader", u)
		mustStatus(t, r, http.StatusOK)
		env, err := ReadPage(r.body, 10)
		if err != nil || len(env.Objects) != 1 {
			t.Fatalf("page: %s, %v", r.body, err)
		}
		e.srv.ahead.running.Wait() // no request is in flight: nothing starts meanwhile
		return objectsOf(t, r)[0]["id"].(string), env.Next, counted.queries.Load() - n0
	}

	first, next, q := walk("")
	if q != 1 {
		t.Fatalf("a first page made %d queries, want 1 (nothing read ahead: a client may not go on)", q)
	}
	second, next, q := walk(next)
	if q != 2 {
		t.Fatalf("a continuation page made %d queries, want 2 (its own and the next page's)", q)
	}
	third, next, q := walk(next)
	if q != 1 {
		t.Fatalf("a page read ahead made %d queries, want 1 (the next page's only)", q)
	}
	if first == second || second == third || first == third {
		t.Fatalf("pages %s, %s, %s", first, second, third)
	}
	// The fourth page is read ahead; its object is deleted before it is asked for.
	fourth := sdoID("tool", 3)
	if first == fourth || second == fourth || third == fourth {
		t.Fatalf("the objects came out of order: %s, %s, %s", first, second, third)
	}
	if n, err := e.st.Delete(context.Background(), collA, fourth, store.VersionFilter{All: true}, nil); err != nil || n != 1 {
		t.Fatalf("delete: %d, %v", n, err)
	}
	if got, _, q := walk(next); got == fourth || q != 2 {
		t.Fatalf("after a delete: page of %s with %d queries, want another object than the deleted %s, queried anew", got, q, fourth)
	}
}

// TestSameQuery: a page read ahead serves only the query it was read for.
func TestSameQuery(t *testing.T) {
	ts := func(s string) stix.Timestamp {
		v, err := stix.ParseTimestamp(s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	base := func() store.Query {
		return store.Query{Collection: collA, AddedAfter: at, AddedUpTo: at.Add(time.Hour), IDs: []string{"a"}, Types: []string{"tool"},
			SpecVersions: []string{"2.1"}, Versions: store.VersionFilter{Last: true, Exact: []stix.Timestamp{ts("2026-01-01T00:00:00Z")}},
			Submitter: "org", Limit: 11}
	}
	if !sameQuery(base(), base()) {
		t.Fatal("a query differs from itself")
	}
	for name, change := range map[string]func(*store.Query){
		"collection":    func(q *store.Query) { q.Collection = collB },
		"added after":   func(q *store.Query) { q.AddedAfter = q.AddedAfter.Add(time.Microsecond) },
		"snapshot":      func(q *store.Query) { q.AddedUpTo = time.Time{} },
		"ids":           func(q *store.Query) { q.IDs = nil },
		"types":         func(q *store.Query) { q.Types = []string{"malware"} },
		"spec versions": func(q *store.Query) { q.SpecVersions = nil },
		"first":         func(q *store.Query) { q.Versions.First = true },
		"last":          func(q *store.Query) { q.Versions.Last = false },
		"all":           func(q *store.Query) { q.Versions.All = true },
		"exact":         func(q *store.Query) { q.Versions.Exact = []stix.Timestamp{ts("2026-01-02T00:00:00Z")} },
		"submitter":     func(q *store.Query) { q.Submitter = "" },
		"limit":         func(q *store.Query) { q.Limit = 12 },
	} {
		q := base()
		change(&q)
		if sameQuery(base(), q) {
			t.Errorf("a query with another %s is the same", name)
		}
	}
}

// stuckStore is a store whose queries end only with their context.
type stuckStore struct{ store.Store }

func (stuckStore) Query(ctx context.Context, _ store.Query) (store.Page, error) {
	<-ctx.Done()
	return store.Page{}, ctx.Err()
}

func (stuckStore) Deletions(context.Context) (uint64, error) { return 0, nil }

// TestReadAheadTooSlow: a page that cannot be read ahead in time is given up at
// its age limit, and the request waiting for it goes on without it.
func TestReadAheadTooSlow(t *testing.T) {
	var r readAhead
	defer r.close()
	q := store.Query{Collection: collA, Limit: 2}
	r.start(context.Background(), stuckStore{}, "token", q)
	ctx, cancel := context.WithTimeout(context.Background(), 3*aheadTTL)
	defer cancel()
	t0 := time.Now()
	if _, ok := r.take(ctx, stuckStore{}, "token", q); ok {
		t.Fatal("a page that was never read was used")
	}
	if waited := time.Since(t0); waited > 2*aheadTTL {
		t.Fatalf("the request waited %v for a read ahead older than %v", waited, aheadTTL)
	}
}

// signalStore tells, on queried, of each query of a page.
type signalStore struct {
	store.Store
	queried chan struct{}
}

func (s *signalStore) Query(ctx context.Context, q store.Query) (store.Page, error) {
	select {
	case s.queried <- struct{}{}:
	default:
	}
	return s.Store.Query(ctx, q)
}

// waitingTrail holds each append, while armed, until a query begins (or a
// timeout), and counts those that saw one.
type waitingTrail struct {
	store.Audit
	queried      chan struct{}
	armed        atomic.Bool
	sawQuery     atomic.Int32
	appendsArmed atomic.Int32
}

func (w *waitingTrail) AppendAudit(ctx context.Context, entries ...audit.Entry) error {
	if w.armed.Load() {
		w.appendsArmed.Add(1)
		select {
		case <-w.queried:
			w.sawQuery.Add(1)
		case <-time.After(5 * time.Second):
		}
	}
	return w.Audit.AppendAudit(ctx, entries...)
}

// TestReadAheadBeforeDisclosure: the next page of a walk is queried while the
// disclosure of the page before is still being recorded, and a page read ahead
// from where the walk does not go on (an entry of the page before withheld) is
// not kept: the walk returns every object the reader may receive once, in order.
func TestReadAheadBeforeDisclosure(t *testing.T) {
	e := newEnv(t, Config{})
	e.putMarked(t, 1, 6, false)
	e.putMarked(t, 7, 1, true)
	e.putMarked(t, 8, 3, false)
	ctx := context.Background()
	queried := make(chan struct{}, 1)
	trail := &waitingTrail{Audit: e.st, queried: queried}
	engine, err := policy.New(testPolicy(), policy.DefaultScales())
	if err != nil {
		t.Fatal(err)
	}
	g, err := gate.New(engine, trail)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(e.srv.cfg, &signalStore{Store: e.st, queried: queried}, e.srv.authz, g, e.srv.log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close(ctx) })
	reader, c := e.readerIn(t, collA)
	var got []string
	for page, next := 1, ""; ; page++ {
		// Pages 3 and 4 of [1 2] [3 4] [5 6] [8 9] [10] were read ahead and are
		// followed by another: each queries the next page while it records the
		// disclosure of its first entries (page 4 then queries, and records, the
		// entry that makes up for its withheld one).
		trail.armed.Store(page == 3 || page == 4)
		res, err := srv.page(ctx, epObjects, reader, c, auth.Rights{Read: true}, "", filter{Limit: 2, Next: next})
		trail.armed.Store(false)
		if err != nil {
			t.Fatal(err)
		}
		for _, en := range res.entries {
			got = append(got, en.Object.ID)
		}
		if !res.more {
			break
		}
		srv.ahead.running.Wait()
		select {
		case <-queried: // the query of the page read ahead
		default:
		}
		next = res.next
		// Page 4 read ahead from 8, its last stored entry, and went on from 9 (it
		// made up for 7): only the page from 9 is kept.
		if last := res.entries[len(res.entries)-1].DateAdded; page == 4 &&
			(len(srv.ahead.pages) != 1 || !srv.ahead.pages[next].q.AddedAfter.Equal(last)) {
			t.Fatalf("after page 4 ending at %v, pages kept: %v", last, srv.ahead.pages)
		}
	}
	var want []string
	for _, n := range []int{1, 2, 3, 4, 5, 6, 8, 9, 10} {
		want = append(want, sdoID("indicator", n))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("walk: %v\nwant %v", got, want)
	}
	if n, saw := trail.appendsArmed.Load(), trail.sawQuery.Load(); n < 3 || saw != n {
		t.Fatalf("%d of %d disclosures of pages 3 and 4 were recorded after a query began, want all (3 at least)", saw, n)
	}
}
