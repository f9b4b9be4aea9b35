package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"quadshare/internal/stix"
	"quadshare/internal/store"
)

const (
	t1 = "2024-01-01T00:00:00.000Z"
	t2 = "2024-02-01T00:00:00.000Z"
	t3 = "2024-03-01T00:00:00.000Z"
)

// testCollectionNamesConcurrent creates, at the same time, a collection whose alias
// is another's id and that other: a name must stay one collection's, so one of
// the two is refused with ErrExists.
func testCollectionNamesConcurrent(t *testing.T, s store.Store) {
	for range 20 {
		x, y, z := NewUUID(), NewUUID(), NewUUID()
		cs := []store.Collection{{ID: x, Alias: y, Title: "x"}, {ID: y, Alias: z, Title: "y"}}
		ok := winners(t, len(cs), store.ErrExists, func(i int) error { return s.CreateCollection(ctx(t), cs[i]) })
		if ok != 1 {
			t.Fatalf("%d of two collections created where one's id is the other's alias; want one", ok)
		}
	}
}

func testCollections(t *testing.T, s store.Store) {
	c := store.Collection{
		ID: NewUUID(), Alias: "inbox-" + NewUUID()[:8], Title: "Inbox", Description: "Reports from operators",
		MediaTypes: []string{"application/stix+json;version=2.1", "application/taxii+json;version=2.1"},
		OwnerOrg:   "org-1", CreatedAt: now(),
	}
	if err := s.CreateCollection(ctx(t), c); err != nil {
		t.Fatalf("create: %v", err)
	}
	other := store.Collection{ID: NewUUID(), Title: "Other", CreatedAt: now()}
	if err := s.CreateCollection(ctx(t), other); err != nil {
		t.Fatalf("create without alias: %v", err)
	}
	for _, key := range []string{c.ID, c.Alias} {
		got, err := s.Collection(ctx(t), key)
		if err != nil {
			t.Fatalf("collection %q: %v", key, err)
		}
		if got.ID != c.ID || got.Alias != c.Alias || got.Title != c.Title || got.Description != c.Description ||
			got.OwnerOrg != c.OwnerOrg || !got.CreatedAt.Equal(c.CreatedAt) || !slices.Equal(got.MediaTypes, c.MediaTypes) {
			t.Fatalf("collection %q:\n got  %+v\n want %+v", key, got, c)
		}
	}
	if _, err := s.Collection(ctx(t), NewUUID()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown collection: %v, want ErrNotFound", err)
	}
	if _, err := s.Collection(ctx(t), ""); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("empty collection key: %v, want ErrNotFound", err)
	}
	dupID := c
	dupID.Alias = ""
	if err := s.CreateCollection(ctx(t), dupID); !errors.Is(err, store.ErrExists) {
		t.Fatalf("duplicate id: %v, want ErrExists", err)
	}
	dupAlias := store.Collection{ID: NewUUID(), Alias: c.Alias, Title: "x", CreatedAt: now()}
	if err := s.CreateCollection(ctx(t), dupAlias); !errors.Is(err, store.ErrExists) {
		t.Fatalf("duplicate alias: %v, want ErrExists", err)
	}
	list, err := s.Collections(ctx(t))
	if err != nil {
		t.Fatalf("collections: %v", err)
	}
	var ids []string
	for _, x := range list {
		ids = append(ids, x.ID)
	}
	if len(ids) != 2 || !slices.Contains(ids, c.ID) || !slices.Contains(ids, other.ID) {
		t.Fatalf("collections: got %q, want %s and %s", ids, c.ID, other.ID)
	}
	again, err := s.Collections(ctx(t))
	if err != nil {
		t.Fatalf("collections: %v", err)
	}
	for i := range again {
		if again[i].ID != list[i].ID {
			t.Fatalf("collections order not consistent (TAXII 2.1 §3.3)")
		}
	}
}

func testPutAndQuery(t *testing.T, s store.Store) {
	col := newCollection(t, s)
	objs := []stix.Object{
		Obj(t, NewID("indicator"), "indicator", t1, t2, "name", "Bad domain", "description", "A domain", "pattern", "[domain-name:value = 'x.example']", "pattern_type", "stix", "valid_from", t1),
		Obj(t, NewID("malware"), "malware", "2024-01-01T00:00:00.123456Z", "2024-01-01T00:00:00.123456Z", "name", "Dropper", "is_family", false, "revoked", true),
		Obj(t, NewID("ipv4-addr"), "ipv4-addr", "", "", "value", "198.51.100.7"),
		Obj(t, NewID("marking-definition"), "marking-definition", "2017-01-20T00:00:00Z", "", "definition_type", "tlp", "x_custom", map[string]any{"k": []int{1, 2}}),
		Obj(t, NewID("x-acme-thing"), "x-acme-thing", t1, t1, "spec_version", nil),
		Obj(t, NewID("report"), "report", t1, t1, "name", "Σύνοψη — 日本語 <b>&</b> 🚨", "description", "line\nbreak\ttab \"quoted\" \\ back",
			"published", t1, "object_refs", []string{NewID("indicator")}),
	}
	before := now()
	res := putAdded(t, s, col, "org-a", objs...)
	after := now()
	for i, r := range res {
		// date_added is the server's clock; it may run a few microseconds ahead of the
		// wall clock to stay strictly increasing, never behind nor far ahead.
		if r.DateAdded.Before(before) || r.DateAdded.After(after.Add(time.Second)) {
			t.Errorf("DateAdded %v of object %d outside [%v, %v]", r.DateAdded, i, before, after)
		}
	}
	p := query(t, s, store.Query{Collection: col, Limit: 10})
	if p.More {
		t.Errorf("More with everything returned")
	}
	if len(p.Entries) != len(objs) {
		t.Fatalf("query: %d entries, want %d", len(p.Entries), len(objs))
	}
	for i, e := range p.Entries {
		sameObject(t, e.Object, objs[i])
		if !e.DateAdded.Equal(res[i].DateAdded) {
			t.Errorf("entry %d DateAdded %v, Put said %v", i, e.DateAdded, res[i].DateAdded)
		}
		if e.Submitter != "org-a" {
			t.Errorf("entry %d submitter %q", i, e.Submitter)
		}
	}
	// The timestamps keep the precision they were written with.
	if got := p.Entries[1].Object.Modified.String(); got != "2024-01-01T00:00:00.123456Z" {
		t.Errorf("modified printed as %q", got)
	}
	if got := p.Entries[3].Object.Created.String(); got != "2017-01-20T00:00:00Z" {
		t.Errorf("created printed as %q", got)
	}
	// Querying a collection that does not exist is an error, an empty one is not.
	if _, err := s.Query(ctx(t), store.Query{Collection: NewUUID(), Limit: 10}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("query of unknown collection: %v, want ErrNotFound", err)
	}
	empty := newCollection(t, s)
	if p := query(t, s, store.Query{Collection: empty}); len(p.Entries) != 0 || p.More {
		t.Errorf("empty collection: %d entries, more=%v", len(p.Entries), p.More)
	}
	// An empty Put adds nothing and is not an error.
	if res, err := s.Put(ctx(t), col, "org-a", nil); err != nil || len(res) != 0 {
		t.Errorf("empty put: %v, %d results", err, len(res))
	}
}

func testPutUnknownCollection(t *testing.T, s store.Store) {
	o := Obj(t, NewID("indicator"), "indicator", t1, t1)
	if _, err := s.Put(ctx(t), NewUUID(), "", []stix.Object{o}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("put into unknown collection: %v, want ErrNotFound", err)
	}
	n, err := s.Count(ctx(t), "")
	if err != nil || n != 0 {
		t.Fatalf("count after refused put: %d, %v", n, err)
	}
}

func testLargeBatch(t *testing.T, s store.Store) {
	col := newCollection(t, s)
	const n = 3000
	objs := make([]stix.Object, n)
	for i := range objs {
		objs[i] = Indicator(t, i, t1)
	}
	res := putAdded(t, s, col, "org-a", objs...)
	for i := 1; i < n; i++ {
		if !res[i].DateAdded.After(res[i-1].DateAdded) {
			t.Fatalf("DateAdded %d not after %d", i, i-1)
		}
	}
	var got []string
	var after time.Time
	for {
		p := query(t, s, store.Query{Collection: col, AddedAfter: after, Limit: 1000})
		for _, e := range p.Entries {
			got = append(got, e.Object.ID)
		}
		if !p.More {
			break
		}
		after = p.Entries[len(p.Entries)-1].DateAdded
	}
	want := make([]string, n)
	for i, o := range objs {
		want[i] = o.ID
	}
	sameStrings(t, "large batch paged", got, want)
	// The same batch again: every object a duplicate.
	for i, r := range put(t, s, col, "org-a", objs...) {
		if r.Outcome != store.Duplicate || !r.DateAdded.Equal(res[i].DateAdded) {
			t.Fatalf("object %d again: %v at %v", i, r.Outcome, r.DateAdded)
		}
	}
}

func testDateAddedIncreasing(t *testing.T, s store.Store) {
	a, b := newCollection(t, s), newCollection(t, s)
	var last time.Time
	for batch := range 6 {
		col := a
		if batch%2 == 1 {
			col = b
		}
		var objs []stix.Object
		for i := range 50 {
			objs = append(objs, Indicator(t, batch*100+i, t1))
		}
		for _, r := range putAdded(t, s, col, "", objs...) {
			if !r.DateAdded.After(last) {
				t.Fatalf("batch %d: DateAdded %v not after %v", batch, r.DateAdded, last)
			}
			last = r.DateAdded
		}
	}
}

func testDateAddedConcurrent(t *testing.T, s store.Store) {
	cols := []string{newCollection(t, s), newCollection(t, s)}
	const writers, batches, size = 4, 5, 40
	results := make([][]time.Time, writers)
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				var objs []stix.Object
				for i := range size {
					objs = append(objs, Indicator(t, (w*batches+b)*size+i, t1))
				}
				res, err := s.Put(context.Background(), cols[w%2], fmt.Sprint("org-", w), objs)
				if err != nil {
					errs <- err
					return
				}
				for _, r := range res {
					if r.Outcome != store.Added {
						errs <- fmt.Errorf("outcome %v", r.Outcome)
						return
					}
					results[w] = append(results[w], r.DateAdded)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent put: %v", err)
	}
	seen := map[time.Time]bool{}
	for w, ts := range results {
		for i, d := range ts {
			if i > 0 && !d.After(ts[i-1]) {
				t.Fatalf("writer %d: DateAdded %v not after %v", w, d, ts[i-1])
			}
			if seen[d] {
				t.Fatalf("DateAdded %v given twice", d)
			}
			seen[d] = true
		}
	}
	if len(seen) != writers*batches*size {
		t.Fatalf("%d distinct DateAdded, want %d", len(seen), writers*batches*size)
	}
	// Within each collection the entries come back in the order they were added.
	for _, col := range cols {
		p := query(t, s, store.Query{Collection: col, Limit: 1000})
		if len(p.Entries) != writers/2*batches*size {
			t.Fatalf("collection has %d entries, want %d", len(p.Entries), writers/2*batches*size)
		}
	}
}

func testDuplicateAndConflict(t *testing.T, s store.Store) {
	col := newCollection(t, s)
	id := NewID("indicator")
	o := Obj(t, id, "indicator", t1, t2, "name", "first")
	first := putAdded(t, s, col, "org-a", o)[0]

	// The same object again: Duplicate, with the first date_added.
	r := put(t, s, col, "org-b", o)[0]
	if r.Outcome != store.Duplicate || !r.DateAdded.Equal(first.DateAdded) {
		t.Fatalf("same object again: %v at %v, want duplicate at %v", r.Outcome, r.DateAdded, first.DateAdded)
	}
	// Different content under the same (id, version): Conflict, nothing written.
	changed := Obj(t, id, "indicator", t1, t2, "name", "changed")
	// The same version written with another precision is the same version (TAXII 2.1 §3.6).
	precise := Obj(t, id, "indicator", t1, "2024-02-01T00:00:00.000000Z", "name", "first")
	fresh := Obj(t, NewID("indicator"), "indicator", t1, t1)
	res := put(t, s, col, "org-b", changed, fresh, precise)
	if res[0].Outcome != store.Conflict {
		t.Fatalf("changed content: %v, want conflict", res[0].Outcome)
	}
	if res[1].Outcome != store.Added {
		t.Fatalf("object after a conflict in the batch: %v, want added", res[1].Outcome)
	}
	if res[2].Outcome != store.Conflict {
		t.Fatalf("same version in another precision and other bytes: %v, want conflict", res[2].Outcome)
	}
	p := query(t, s, store.Query{Collection: col, IDs: []string{id}, Versions: store.VersionFilter{All: true}})
	if len(p.Entries) != 1 {
		t.Fatalf("%d entries for %s, want 1", len(p.Entries), id)
	}
	sameObject(t, p.Entries[0].Object, o)
	if p.Entries[0].Submitter != "org-a" {
		t.Fatalf("submitter %q, want the first one", p.Entries[0].Submitter)
	}

	// Within one batch: the first is added, an identical one is a duplicate of it, a
	// different one conflicts with it.
	id2 := NewID("malware")
	a := Obj(t, id2, "malware", t1, t1, "name", "a", "is_family", true)
	b := Obj(t, id2, "malware", t1, t1, "name", "b", "is_family", true)
	res = put(t, s, col, "", a, a, b)
	if res[0].Outcome != store.Added || res[1].Outcome != store.Duplicate || res[2].Outcome != store.Conflict {
		t.Fatalf("batch with repeats: %v %v %v, want added duplicate conflict", res[0].Outcome, res[1].Outcome, res[2].Outcome)
	}
	if !res[1].DateAdded.Equal(res[0].DateAdded) {
		t.Fatalf("duplicate in batch: DateAdded %v, want %v", res[1].DateAdded, res[0].DateAdded)
	}
	if n, err := s.Count(ctx(t), col); err != nil || n != 3 {
		t.Fatalf("count: %d, %v; want 3", n, err)
	}
}

// testReorderedDuplicate puts an object again with its members in another order,
// as a client or a partner that writes JSON otherwise sends it: the same object, a
// duplicate rather than a conflict (TAXII 2.1 §5.5), in the collection that holds
// it, added to another with the bytes stored first, and within one Put.
func testReorderedDuplicate(t *testing.T, s store.Store) {
	col, other := newCollection(t, s), newCollection(t, s)
	o := Obj(t, NewID("malware"), "malware", t1, t1, "name", "m", "is_family", true)
	first := putAdded(t, s, col, "", o)[0]
	if r := put(t, s, col, "", reordered(t, o))[0]; r.Outcome != store.Duplicate || !r.DateAdded.Equal(first.DateAdded) {
		t.Fatalf("reordered, again: %v at %v, want a duplicate at %v", r.Outcome, r.DateAdded, first.DateAdded)
	}
	putAdded(t, s, other, "", reordered(t, o))
	p := query(t, s, store.Query{Collection: other})
	if len(p.Entries) != 1 {
		t.Fatalf("%d entries in the other collection, want 1", len(p.Entries))
	}
	sameObject(t, p.Entries[0].Object, o)
	n := Obj(t, NewID("tool"), "tool", t1, t1, "name", "n")
	res := put(t, s, col, "", n, reordered(t, n))
	if res[0].Outcome != store.Added || res[1].Outcome != store.Duplicate || !res[1].DateAdded.Equal(res[0].DateAdded) {
		t.Fatalf("reordered in one Put: %+v, want added and a duplicate of it", res)
	}
}

// reordered returns o with the members of its JSON in another order.
func reordered(t *testing.T, o stix.Object) stix.Object {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(o.Raw, &m); err != nil {
		t.Fatal(err)
	}
	raw, err := json.Marshal(m) // members sorted by name
	if err != nil || bytes.Equal(raw, o.Raw) {
		t.Fatalf("reordered: %s, %v", raw, err)
	}
	o.Raw = raw
	return o
}

// testSCOVersion selects an object without created or modified (an SCO) by an exact
// version equal to its date_added in the collection, the version TAXII shows for it
// (TAXII 2.1 §3.4.1), in queries and in deletes.
func testSCOVersion(t *testing.T, s store.Store) {
	col := newCollection(t, s)
	ip := Obj(t, NewID("ipv4-addr"), "ipv4-addr", "", "", "value", "192.0.2.7")
	ind := Obj(t, NewID("indicator"), "indicator", t1, t1)
	res := putAdded(t, s, col, "", ip, ind)
	at := func(tm time.Time) store.VersionFilter {
		return store.VersionFilter{Exact: []stix.Timestamp{stix.NewTimestamp(tm, 6)}}
	}
	p := query(t, s, store.Query{Collection: col, Versions: at(res[0].DateAdded)})
	if len(p.Entries) != 1 || p.Entries[0].Object.ID != ip.ID {
		t.Fatalf("the SCO at its date_added: %d entries, want it alone", len(p.Entries))
	}
	// The indicator has a version of its own: its date_added is not one.
	if p := query(t, s, store.Query{Collection: col, Versions: at(res[1].DateAdded)}); len(p.Entries) != 0 {
		t.Fatalf("the indicator at its date_added: %d entries, want none", len(p.Entries))
	}
	if n, err := s.Delete(ctx(t), col, ip.ID, at(res[0].DateAdded.Add(time.Microsecond)), nil); err != nil || n != 0 {
		t.Fatalf("delete at another instant: %d, %v; want nothing deleted", n, err)
	}
	if n, err := s.Delete(ctx(t), col, ip.ID, at(res[0].DateAdded), nil); err != nil || n != 1 {
		t.Fatalf("delete at its date_added: %d, %v; want it deleted", n, err)
	}
}

func testSameObjectTwoCollections(t *testing.T, s store.Store) {
	a, b := newCollection(t, s), newCollection(t, s)
	o := Obj(t, NewID("indicator"), "indicator", t1, t1, "name", "shared")
	ra := putAdded(t, s, a, "org-a", o)[0]
	rb := putAdded(t, s, b, "org-b", o)[0] // known version newly added to this collection
	if !rb.DateAdded.After(ra.DateAdded) {
		t.Fatalf("second collection DateAdded %v not after %v", rb.DateAdded, ra.DateAdded)
	}
	if r := put(t, s, b, "org-b", o)[0]; r.Outcome != store.Duplicate || !r.DateAdded.Equal(rb.DateAdded) {
		t.Fatalf("again in b: %v at %v", r.Outcome, r.DateAdded)
	}
	// A conflicting object is refused in every collection, also one that lacks the id.
	c := newCollection(t, s)
	if r := put(t, s, c, "", Obj(t, o.ID, "indicator", t1, t1, "name", "other"))[0]; r.Outcome != store.Conflict {
		t.Fatalf("conflict in a third collection: %v", r.Outcome)
	}
	for _, col := range []string{a, b} {
		p := query(t, s, store.Query{Collection: col})
		if len(p.Entries) != 1 {
			t.Fatalf("%d entries in collection", len(p.Entries))
		}
		sameObject(t, p.Entries[0].Object, o)
	}
	if e := query(t, s, store.Query{Collection: b}).Entries[0]; e.Submitter != "org-b" || !e.DateAdded.Equal(rb.DateAdded) {
		t.Fatalf("entry in b: submitter %q at %v", e.Submitter, e.DateAdded)
	}
	// Stored once: Count("") counts object versions, not entries.
	if n, err := s.Count(ctx(t), ""); err != nil || n != 1 {
		t.Fatalf("count of all versions: %d, %v; want 1", n, err)
	}
	if n, err := s.Count(ctx(t), c); err != nil || n != 0 {
		t.Fatalf("count of collection with only a conflict: %d, %v; want 0", n, err)
	}
}

// versionFixture puts three versions of one object (in the order v2, v3, v1, so that
// date_added order and version order differ) and one version of another.
func versionFixture(t *testing.T, s store.Store) (col string, v1, v2, v3, other stix.Object) {
	col = newCollection(t, s)
	id := NewID("campaign")
	v1 = Obj(t, id, "campaign", t1, t1, "name", "v1")
	v2 = Obj(t, id, "campaign", t1, t2, "name", "v2")
	v3 = Obj(t, id, "campaign", t1, t3, "name", "v3")
	other = Obj(t, NewID("malware"), "malware", t2, t2, "name", "other", "is_family", false)
	putAdded(t, s, col, "", v2)
	putAdded(t, s, col, "", v3, other)
	putAdded(t, s, col, "", v1)
	return col, v1, v2, v3, other
}

func ts(t *testing.T, s string) stix.Timestamp {
	t.Helper()
	v, err := stix.ParseTimestamp(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func testVersions(t *testing.T, s store.Store) {
	col, v1, v2, v3, other := versionFixture(t, s)
	L := label
	tests := []struct {
		name string
		v    store.VersionFilter
		want []string // in date_added order: v2, v3, other, v1
	}{
		{"default is last", store.VersionFilter{}, []string{L(v3), L(other)}},
		{"last", store.VersionFilter{Last: true}, []string{L(v3), L(other)}},
		{"first", store.VersionFilter{First: true}, []string{L(other), L(v1)}},
		{"all", store.VersionFilter{All: true}, []string{L(v2), L(v3), L(other), L(v1)}},
		{"first,last", store.VersionFilter{First: true, Last: true}, []string{L(v3), L(other), L(v1)}},
		{"exact", store.VersionFilter{Exact: []stix.Timestamp{ts(t, t2)}}, []string{L(v2), L(other)}},
		{"exact other precision", store.VersionFilter{Exact: []stix.Timestamp{ts(t, "2024-02-01T00:00:00Z")}}, []string{L(v2), L(other)}},
		{"two exact", store.VersionFilter{Exact: []stix.Timestamp{ts(t, t1), ts(t, t3)}}, []string{L(v3), L(v1)}},
		{"exact,last", store.VersionFilter{Last: true, Exact: []stix.Timestamp{ts(t, t2)}}, []string{L(v2), L(v3), L(other)}},
		{"first,exact,last", store.VersionFilter{First: true, Last: true, Exact: []stix.Timestamp{ts(t, t2)}}, []string{L(v2), L(v3), L(other), L(v1)}},
		{"exact none", store.VersionFilter{Exact: []stix.Timestamp{ts(t, "2030-01-01T00:00:00Z")}}, nil},
		{"all with exact", store.VersionFilter{All: true, Exact: []stix.Timestamp{ts(t, t2)}}, []string{L(v2), L(v3), L(other), L(v1)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := query(t, s, store.Query{Collection: col, Versions: tc.v})
			sameStrings(t, "versions", versions(p.Entries), tc.want)
		})
	}
	// Versions of one object by id.
	p := query(t, s, store.Query{Collection: col, IDs: []string{v1.ID}, Versions: store.VersionFilter{All: true}})
	sameStrings(t, "all versions by id", versions(p.Entries), []string{L(v2), L(v3), L(v1)})
}

func testVersionsPerCollection(t *testing.T, s store.Store) {
	// "last" and "first" are computed among the versions present in the collection.
	a, b := newCollection(t, s), newCollection(t, s)
	id := NewID("indicator")
	v1 := Obj(t, id, "indicator", t1, t1)
	v2 := Obj(t, id, "indicator", t1, t2)
	putAdded(t, s, a, "", v1, v2)
	putAdded(t, s, b, "", v1)
	sameStrings(t, "last in a", versions(query(t, s, store.Query{Collection: a}).Entries), []string{label(v2)})
	sameStrings(t, "last in b", versions(query(t, s, store.Query{Collection: b}).Entries), []string{label(v1)})
	putAdded(t, s, b, "", v2)
	sameStrings(t, "last in b after adding v2", versions(query(t, s, store.Query{Collection: b}).Entries), []string{label(v2)})
	sameStrings(t, "first in b", versions(query(t, s, store.Query{Collection: b, Versions: store.VersionFilter{First: true}}).Entries), []string{label(v1)})
}

func testVersionsInSnapshot(t *testing.T, s store.Store) {
	// A walk bound to a snapshot (AddedUpTo) judges "last" and "first" among the
	// versions added up to it: a version that arrives later neither appears nor hides
	// the one the snapshot holds.
	col := newCollection(t, s)
	id := NewID("indicator")
	v1 := Obj(t, id, "indicator", t1, t1)
	v2 := Obj(t, id, "indicator", t1, t2)
	v0 := Obj(t, id, "indicator", t1, "2023-12-31T00:00:00.000Z")
	bound := putAdded(t, s, col, "", v1)[0].DateAdded
	putAdded(t, s, col, "", v2, v0)
	last := query(t, s, store.Query{Collection: col, AddedUpTo: bound})
	sameStrings(t, "last in the snapshot", versions(last.Entries), []string{label(v1)})
	first := query(t, s, store.Query{Collection: col, AddedUpTo: bound, Versions: store.VersionFilter{First: true}})
	sameStrings(t, "first in the snapshot", versions(first.Entries), []string{label(v1)})
	now := query(t, s, store.Query{Collection: col, Versions: store.VersionFilter{First: true, Last: true}})
	sameStrings(t, "first and last now", versions(now.Entries), []string{label(v2), label(v0)})
}

func testVersionsAndSpecVersion(t *testing.T, s store.Store) {
	// With a spec_version filter, "last" is the last version of that spec version.
	col := newCollection(t, s)
	id := NewID("indicator")
	old := Obj(t, id, "indicator", t1, t1, "spec_version", "2.0")
	cur := Obj(t, id, "indicator", t1, t2)
	putAdded(t, s, col, "", old, cur)
	tests := []struct {
		name  string
		specs []string
		v     store.VersionFilter
		want  []string
	}{
		{"any spec, last", nil, store.VersionFilter{}, []string{label(cur)}},
		{"2.0, last", []string{"2.0"}, store.VersionFilter{}, []string{label(old)}},
		{"2.1, last", []string{"2.1"}, store.VersionFilter{}, []string{label(cur)}},
		{"2.1, first", []string{"2.1"}, store.VersionFilter{First: true}, []string{label(cur)}},
		{"2.0 and 2.1, all", []string{"2.0", "2.1"}, store.VersionFilter{All: true}, []string{label(old), label(cur)}},
		{"2.2, all", []string{"2.2"}, store.VersionFilter{All: true}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := query(t, s, store.Query{Collection: col, SpecVersions: tc.specs, Versions: tc.v})
			sameStrings(t, "versions", versions(p.Entries), tc.want)
		})
	}
}

func testFilters(t *testing.T, s store.Store) {
	col := newCollection(t, s)
	ind1 := Obj(t, NewID("indicator"), "indicator", t1, t1)
	ind2 := Obj(t, NewID("indicator"), "indicator", t1, t1, "spec_version", "2.0")
	mal := Obj(t, NewID("malware"), "malware", t1, t1, "is_family", true)
	ip := Obj(t, NewID("ipv4-addr"), "ipv4-addr", "", "", "value", "203.0.113.9")
	rel := Obj(t, NewID("relationship"), "relationship", t1, t1)
	putAdded(t, s, col, "", ind1, ind2, mal, ip, rel)
	L := label
	tests := []struct {
		name string
		q    store.Query
		want []string
	}{
		{"none", store.Query{}, []string{L(ind1), L(ind2), L(mal), L(ip), L(rel)}},
		{"one type", store.Query{Types: []string{"indicator"}}, []string{L(ind1), L(ind2)}},
		{"two types", store.Query{Types: []string{"malware", "ipv4-addr"}}, []string{L(mal), L(ip)}},
		{"unknown type", store.Query{Types: []string{"grouping"}}, nil},
		{"repeated type", store.Query{Types: []string{"indicator", "malware", "indicator"}}, []string{L(ind1), L(ind2), L(mal)}},
		{"many types", store.Query{Types: manyTypes("relationship", "ipv4-addr")}, []string{L(ip), L(rel)}},
		{"one id", store.Query{IDs: []string{mal.ID}}, []string{L(mal)}},
		{"two ids", store.Query{IDs: []string{rel.ID, ind1.ID, NewID("indicator")}}, []string{L(ind1), L(rel)}},
		{"spec 2.0", store.Query{SpecVersions: []string{"2.0"}}, []string{L(ind2)}},
		{"spec 2.1", store.Query{SpecVersions: []string{"2.1"}}, []string{L(ind1), L(mal), L(ip), L(rel)}},
		{"type and id ANDed", store.Query{Types: []string{"indicator"}, IDs: []string{mal.ID, ind2.ID}}, []string{L(ind2)}},
		{"type and spec ANDed", store.Query{Types: []string{"indicator"}, SpecVersions: []string{"2.1"}}, []string{L(ind1)}},
		{"disjoint", store.Query{Types: []string{"malware"}, IDs: []string{ind1.ID}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := tc.q
			q.Collection = col
			sameStrings(t, "filter", versions(query(t, s, q).Entries), tc.want)
		})
	}
}

// manyTypes returns the given types among forty others.
func manyTypes(types ...string) []string {
	for i := range 40 {
		types = append(types, fmt.Sprintf("x-other-%d", i))
	}
	return types
}

func testSubmitter(t *testing.T, s store.Store) {
	col := newCollection(t, s)
	a := Obj(t, NewID("indicator"), "indicator", t1, t1)
	b := Obj(t, NewID("indicator"), "indicator", t1, t1)
	c := Obj(t, NewID("indicator"), "indicator", t1, t1)
	putAdded(t, s, col, "org-a", a)
	putAdded(t, s, col, "org-b", b)
	putAdded(t, s, col, "org-a", c)
	sameStrings(t, "org-a", versions(query(t, s, store.Query{Collection: col, Submitter: "org-a"}).Entries), []string{label(a), label(c)})
	sameStrings(t, "org-b", versions(query(t, s, store.Query{Collection: col, Submitter: "org-b"}).Entries), []string{label(b)})
	sameStrings(t, "org-c", versions(query(t, s, store.Query{Collection: col, Submitter: "org-c"}).Entries), nil)
	for _, e := range query(t, s, store.Query{Collection: col}).Entries {
		want := "org-a"
		if e.Object.ID == b.ID {
			want = "org-b"
		}
		if e.Submitter != want {
			t.Fatalf("%s submitter %q, want %q", e.Object.ID, e.Submitter, want)
		}
	}
	// "first" and "last" are chosen among the submitter's own versions: another
	// organisation's newer version does not hide an operator's own from it.
	a2 := Obj(t, a.ID, "indicator", t1, t2)
	a3 := Obj(t, a.ID, "indicator", t1, t3)
	putAdded(t, s, col, "org-b", a2)
	putAdded(t, s, col, "org-a", a3)
	a4 := Obj(t, a.ID, "indicator", t1, "2024-04-01T00:00:00.000Z")
	putAdded(t, s, col, "org-b", a4)
	only := []string{a.ID}
	for _, tc := range []struct {
		submitter string
		v         store.VersionFilter
		want      []string
	}{
		{"org-a", store.VersionFilter{Last: true}, []string{label(a3)}},
		{"org-a", store.VersionFilter{}, []string{label(a3)}},
		{"org-a", store.VersionFilter{First: true}, []string{label(a)}},
		{"org-b", store.VersionFilter{First: true}, []string{label(a2)}},
		{"org-b", store.VersionFilter{First: true, Last: true}, []string{label(a2), label(a4)}},
		{"", store.VersionFilter{Last: true}, []string{label(a4)}},
	} {
		got := versions(query(t, s, store.Query{Collection: col, IDs: only, Submitter: tc.submitter, Versions: tc.v}).Entries)
		sameStrings(t, fmt.Sprintf("%s %+v", tc.submitter, tc.v), got, tc.want)
	}
}

func testPagination(t *testing.T, s store.Store) {
	col := newCollection(t, s)
	var objs []stix.Object
	for i := range 25 {
		objs = append(objs, Obj(t, NewID("indicator"), "indicator", t1, t1, "name", fmt.Sprint("n", i)))
	}
	var res []store.PutResult
	for i := 0; i < len(objs); i += 7 {
		res = append(res, putAdded(t, s, col, "", objs[i:min(i+7, len(objs))]...)...)
	}
	var got []string
	var after time.Time
	var mores []bool
	for range 10 {
		p := query(t, s, store.Query{Collection: col, AddedAfter: after, Limit: 10})
		for _, e := range p.Entries {
			got = append(got, e.Object.ID)
		}
		mores = append(mores, p.More)
		if !p.More {
			break
		}
		after = p.Entries[len(p.Entries)-1].DateAdded
	}
	var want []string
	for _, o := range objs {
		want = append(want, o.ID)
	}
	sameStrings(t, "paged ids", got, want)
	if !slices.Equal(mores, []bool{true, true, false}) {
		t.Fatalf("More per page %v, want [true true false]", mores)
	}
	// A limit equal to what is left is not More.
	if p := query(t, s, store.Query{Collection: col, Limit: 25}); p.More || len(p.Entries) != 25 {
		t.Fatalf("limit 25: %d entries, more=%v", len(p.Entries), p.More)
	}
	if p := query(t, s, store.Query{Collection: col, Limit: 24}); !p.More || len(p.Entries) != 24 {
		t.Fatalf("limit 24: %d entries, more=%v", len(p.Entries), p.More)
	}
	// AddedAfter is exclusive, AddedUpTo inclusive.
	p := query(t, s, store.Query{Collection: col, AddedAfter: res[4].DateAdded, AddedUpTo: res[9].DateAdded})
	sameStrings(t, "window (5th, 10th]", versions(p.Entries), versions(entriesOf(objs[5:10])))
	p = query(t, s, store.Query{Collection: col, AddedUpTo: res[0].DateAdded})
	sameStrings(t, "up to the first", versions(p.Entries), versions(entriesOf(objs[:1])))
	p = query(t, s, store.Query{Collection: col, AddedAfter: res[24].DateAdded})
	if len(p.Entries) != 0 || p.More {
		t.Fatalf("after the last: %d entries, more=%v", len(p.Entries), p.More)
	}
	// The filters apply before the limit: More counts only matching entries.
	p = query(t, s, store.Query{Collection: col, IDs: []string{objs[3].ID, objs[20].ID}, Limit: 1})
	if len(p.Entries) != 1 || p.Entries[0].Object.ID != objs[3].ID || !p.More {
		t.Fatalf("filtered first page: %v more=%v", versions(p.Entries), p.More)
	}
	p = query(t, s, store.Query{Collection: col, IDs: []string{objs[3].ID, objs[20].ID}, AddedAfter: p.Entries[0].DateAdded, Limit: 1})
	if len(p.Entries) != 1 || p.Entries[0].Object.ID != objs[20].ID || p.More {
		t.Fatalf("filtered second page: %v more=%v", versions(p.Entries), p.More)
	}
}

func entriesOf(objs []stix.Object) []store.Entry {
	es := make([]store.Entry, len(objs))
	for i, o := range objs {
		es[i].Object = o
	}
	return es
}

func testPaginationWhileWriting(t *testing.T, s store.Store) {
	col := newCollection(t, s)
	existing := map[string]bool{}
	var high time.Time
	for b := range 5 {
		var objs []stix.Object
		for i := range 40 {
			o := Indicator(t, b*40+i, t1)
			objs = append(objs, o)
			existing[o.ID] = true
		}
		for _, r := range putAdded(t, s, col, "", objs...) {
			high = r.DateAdded
		}
	}
	// The snapshot bound: now, or the last date_added if the store's clock ran ahead.
	bound := now()
	if high.After(bound) {
		bound = high
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var writeErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			default:
			}
			objs := []stix.Object{Indicator(t, 10000+n, t1), Indicator(t, 20000+n, t1)}
			if _, err := s.Put(context.Background(), col, "", objs); err != nil {
				writeErr = err
				return
			}
		}
	}()
	seen := map[string]int{}
	var after time.Time
	pages := 0
	for ; pages < 1000; pages++ {
		p := query(t, s, store.Query{Collection: col, AddedAfter: after, AddedUpTo: bound, Limit: 7})
		for _, e := range p.Entries {
			seen[e.Object.ID]++
		}
		if len(p.Entries) > 0 {
			after = p.Entries[len(p.Entries)-1].DateAdded
		}
		if !p.More {
			break
		}
		time.Sleep(time.Millisecond) // let the writer in between pages
	}
	close(stop)
	wg.Wait()
	if writeErr != nil {
		t.Fatalf("writer: %v", writeErr)
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("%s seen %d times", id, n)
		}
		if !existing[id] {
			t.Fatalf("%s added after the snapshot bound was seen", id)
		}
	}
	for id := range existing {
		if seen[id] != 1 {
			t.Fatalf("%s existed before paging and was not seen", id)
		}
	}
	// Paging without a bound afterwards still sees everything exactly once.
	seen = map[string]int{}
	after = time.Time{}
	total := 0
	for {
		p := query(t, s, store.Query{Collection: col, AddedAfter: after, Limit: 50})
		for _, e := range p.Entries {
			seen[e.Object.ID]++
			total++
		}
		if !p.More {
			break
		}
		after = p.Entries[len(p.Entries)-1].DateAdded
	}
	n, err := s.Count(ctx(t), col)
	if err != nil {
		t.Fatal(err)
	}
	if total != n || len(seen) != n {
		t.Fatalf("paged %d entries (%d distinct), count %d", total, len(seen), n)
	}
}

func testDelete(t *testing.T, s store.Store) {
	col, v1, v2, v3, other := versionFixture(t, s)
	all := store.VersionFilter{All: true}
	// Another collection keeps its copy.
	keep := newCollection(t, s)
	putAdded(t, s, keep, "", v1, v2, v3)

	before, err := s.Deletions(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	n, err := s.Delete(ctx(t), col, v1.ID, store.VersionFilter{Exact: []stix.Timestamp{v2.Modified}}, nil)
	if err != nil || n != 1 {
		t.Fatalf("delete v2: %d, %v; want 1", n, err)
	}
	if d, err := s.Deletions(ctx(t)); err != nil || d == before {
		t.Fatalf("Deletions %d, %v after a delete: unchanged", d, err)
	}
	sameStrings(t, "after deleting v2", versions(query(t, s, store.Query{Collection: col, Versions: all}).Entries),
		[]string{label(v3), label(other), label(v1)})
	exact := query(t, s, store.Query{Collection: col, IDs: []string{v1.ID}, Versions: store.VersionFilter{Exact: []stix.Timestamp{v2.Modified}}})
	if len(exact.Entries) != 0 {
		t.Fatalf("deleted version still returned")
	}
	// The default deletes the last version; the one before becomes last.
	if n, err = s.Delete(ctx(t), col, v1.ID, store.VersionFilter{}, nil); err != nil || n != 1 {
		t.Fatalf("delete last: %d, %v; want 1", n, err)
	}
	sameStrings(t, "last after deleting v3", versions(query(t, s, store.Query{Collection: col, IDs: []string{v1.ID}}).Entries), []string{label(v1)})
	// Deleting what is not there removes nothing.
	if n, err = s.Delete(ctx(t), col, v1.ID, store.VersionFilter{Exact: []stix.Timestamp{v2.Modified}}, nil); err != nil || n != 0 {
		t.Fatalf("delete again: %d, %v; want 0", n, err)
	}
	if n, err = s.Delete(ctx(t), col, NewID("indicator"), all, nil); err != nil || n != 0 {
		t.Fatalf("delete unknown id: %d, %v; want 0", n, err)
	}
	// A spec_version filter that matches nothing removes nothing.
	if n, err = s.Delete(ctx(t), col, v1.ID, all, []string{"2.0"}); err != nil || n != 0 {
		t.Fatalf("delete with spec_version 2.0: %d, %v; want 0", n, err)
	}
	if n, err = s.Delete(ctx(t), col, v1.ID, all, []string{"2.1"}); err != nil || n != 1 {
		t.Fatalf("delete all: %d, %v; want 1", n, err)
	}
	sameStrings(t, "after deleting all", versions(query(t, s, store.Query{Collection: col, Versions: all}).Entries), []string{label(other)})
	if c, err := s.Count(ctx(t), col); err != nil || c != 1 {
		t.Fatalf("count after delete: %d, %v; want 1", c, err)
	}
	sameStrings(t, "other collection untouched", versions(query(t, s, store.Query{Collection: keep, Versions: all}).Entries),
		[]string{label(v1), label(v2), label(v3)})
	// Deleted objects can be added again.
	if r := put(t, s, col, "", v2)[0]; r.Outcome != store.Added {
		t.Fatalf("re-adding a deleted version: %v", r.Outcome)
	}
	if _, err := s.Delete(ctx(t), NewUUID(), v1.ID, all, nil); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete in unknown collection: %v, want ErrNotFound", err)
	}
}

func testSearch(t *testing.T, s store.Store) {
	a, b := newCollection(t, s), newCollection(t, s)
	apt := NewID("intrusion-set")
	old := Obj(t, apt, "intrusion-set", t1, t1, "name", "Fancy Lynx", "description", "Old name of the group")
	cur := Obj(t, apt, "intrusion-set", t1, t2, "name", "Dancing Lynx", "description", "Targets energy utilities in the north")
	mal := Obj(t, NewID("malware"), "malware", t1, t1, "name", "GridWiper", "description", "Wiper aimed at energy grid controllers", "is_family", true)
	ind := Obj(t, NewID("indicator"), "indicator", t1, t1, "name", "Wiper hash", "description", "File hash of the energy wiper")
	putAdded(t, s, a, "", old, cur, mal)
	putAdded(t, s, b, "", ind)
	search := func(q store.SearchQuery) []string {
		t.Helper()
		if q.Limit == 0 {
			q.Limit = 100
		}
		es, err := s.Search(ctx(t), q)
		if err != nil {
			t.Fatalf("search %+v: %v", q, err)
		}
		var got []string
		for _, e := range es {
			got = append(got, label(e.Object))
		}
		slices.Sort(got)
		return got
	}
	sorted := func(xs ...string) []string { slices.Sort(xs); return xs }
	tests := []struct {
		name string
		q    store.SearchQuery
		want []string
	}{
		{"one word", store.SearchQuery{Text: "energy"}, sorted(label(cur), label(mal), label(ind))},
		{"case folded", store.SearchQuery{Text: "ENERGY"}, sorted(label(cur), label(mal), label(ind))},
		{"every word", store.SearchQuery{Text: "energy wiper"}, sorted(label(mal), label(ind))},
		{"prefix on the last word", store.SearchQuery{Text: "energy wip"}, sorted(label(mal), label(ind))},
		{"no prefix on earlier words", store.SearchQuery{Text: "ener wiper"}, nil},
		{"name", store.SearchQuery{Text: "gridwiper"}, []string{label(mal)}},
		{"latest versions only", store.SearchQuery{Text: "fancy"}, nil},
		{"latest version found", store.SearchQuery{Text: "dancing lynx"}, []string{label(cur)}},
		{"one collection", store.SearchQuery{Text: "energy", Collections: []string{b}}, []string{label(ind)}},
		{"both collections", store.SearchQuery{Text: "energy", Collections: []string{a, b}}, sorted(label(cur), label(mal), label(ind))},
		{"type", store.SearchQuery{Text: "energy", Types: []string{"malware", "indicator"}}, sorted(label(mal), label(ind))},
		{"nothing", store.SearchQuery{Text: "ransomware"}, nil},
		{"punctuation is not syntax", store.SearchQuery{Text: `"energy" (^wiper*)- :`}, sorted(label(mal), label(ind))},
		{"operators are words", store.SearchQuery{Text: "energy OR ransomware"}, nil},
		{"limit", store.SearchQuery{Text: "energy", Limit: 1}, nil}, // checked by length below
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := search(tc.q)
			if tc.name == "limit" {
				if len(got) != 1 {
					t.Fatalf("limit 1: %d results", len(got))
				}
				return
			}
			sameStrings(t, "search", got, tc.want)
		})
	}
	// Search results are whole entries.
	es, err := s.Search(ctx(t), store.SearchQuery{Text: "gridwiper", Limit: 10})
	if err != nil || len(es) != 1 {
		t.Fatalf("search gridwiper: %d, %v", len(es), err)
	}
	sameObject(t, es[0].Object, mal)
	if es[0].DateAdded.IsZero() {
		t.Fatalf("search entry without DateAdded")
	}
	// Each result names its collection.
	es, err = s.Search(ctx(t), store.SearchQuery{Text: "wiper", Collections: []string{a, b}, Limit: 10})
	if err != nil || len(es) != 2 {
		t.Fatalf("search wiper: %d, %v", len(es), err)
	}
	for _, e := range es {
		if want := map[string]string{mal.ID: a, ind.ID: b}[e.Object.ID]; e.Collection != want {
			t.Errorf("search result %s: collection %q, want %q", e.Object.ID, e.Collection, want)
		}
	}
	// Empty text, or text with no words, finds nothing and is not an error.
	for _, text := range []string{"", "  ", `"*"`} {
		if es, err := s.Search(ctx(t), store.SearchQuery{Text: text, Limit: 10}); err != nil || len(es) != 0 {
			t.Fatalf("search %q: %d, %v", text, len(es), err)
		}
	}
}

func testCount(t *testing.T, s store.Store) {
	a, b := newCollection(t, s), newCollection(t, s)
	for _, c := range []string{a, ""} {
		if n, err := s.Count(ctx(t), c); err != nil || n != 0 {
			t.Fatalf("count %q when empty: %d, %v", c, n, err)
		}
	}
	id := NewID("indicator")
	putAdded(t, s, a, "", Obj(t, id, "indicator", t1, t1), Obj(t, id, "indicator", t1, t2), Obj(t, NewID("tool"), "tool", t1, t1))
	putAdded(t, s, b, "", Obj(t, id, "indicator", t1, t1))
	for _, tc := range []struct {
		col  string
		want int
	}{{a, 3}, {b, 1}, {"", 3}} {
		if n, err := s.Count(ctx(t), tc.col); err != nil || n != tc.want {
			t.Fatalf("count %q: %d, %v; want %d", tc.col, n, err, tc.want)
		}
	}
	if _, err := s.Count(ctx(t), NewUUID()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("count of unknown collection: %v, want ErrNotFound", err)
	}
}

// testPutCancelledMidway: a Put whose context ends while it runs, at any point
// of it, either succeeds or fails with the context's error, never another, and
// stores all its objects or none.
func testPutCancelledMidway(t *testing.T, s store.Store) {
	const n, points = 2000, 24
	batch := func(i int) []stix.Object {
		objs := make([]stix.Object, n)
		for k := range objs {
			objs[k] = Indicator(t, i*n+k, t1)
		}
		return objs
	}
	start := time.Now()
	putAdded(t, s, newCollection(t, s), "", batch(0)...)
	whole := time.Since(start)
	for i := 1; i <= points; i++ {
		delay := whole * time.Duration(i-1) / points
		col := newCollection(t, s)
		objs := batch(i)
		c, cancel := context.WithCancel(ctx(t))
		time.AfterFunc(delay, cancel)
		_, err := s.Put(c, col, "", objs)
		cancel()
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled after %v of %v: %v, want the context's error", delay, whole, err)
		}
		count, cerr := s.Count(ctx(t), col)
		if cerr != nil || err == nil && count != n || err != nil && count != 0 {
			t.Errorf("cancelled after %v of %v (%v): %d objects stored, %v", delay, whole, err, count, cerr)
		}
	}
}

func testContextCancelled(t *testing.T, s store.Store) {
	col := newCollection(t, s)
	c, cancel := context.WithCancel(ctx(t))
	cancel()
	objs := []stix.Object{Indicator(t, 1, t1), Indicator(t, 2, t1)}
	if _, err := s.Put(c, col, "", objs); err == nil {
		t.Fatalf("put with a cancelled context succeeded")
	}
	if n, err := s.Count(ctx(t), col); err != nil || n != 0 {
		t.Fatalf("count after cancelled put: %d, %v; want 0", n, err)
	}
	if _, err := s.Query(c, store.Query{Collection: col, Limit: 10}); err == nil {
		t.Fatalf("query with a cancelled context succeeded")
	}
	if _, err := s.Search(c, store.SearchQuery{Text: "x", Limit: 10}); err == nil {
		t.Fatalf("search with a cancelled context succeeded")
	}
	if _, err := s.Collections(c); err == nil {
		t.Fatalf("collections with a cancelled context succeeded")
	}
	if _, err := s.Delete(c, col, objs[0].ID, store.VersionFilter{All: true}, nil); err == nil {
		t.Fatalf("delete with a cancelled context succeeded")
	}
	// The store still works afterwards.
	putAdded(t, s, col, "", objs...)
	// A deadline in the past is a cancellation too.
	dl, cancel2 := context.WithDeadline(ctx(t), time.Now().Add(-time.Second))
	defer cancel2()
	if _, err := s.Put(dl, col, "", []stix.Object{Indicator(t, 3, t1)}); err == nil {
		t.Fatalf("put past its deadline succeeded")
	}
	if n, err := s.Count(ctx(t), col); err != nil || n != 2 {
		t.Fatalf("count: %d, %v; want 2", n, err)
	}
}

func testLastAdded(t *testing.T, s store.Store) {
	col := newCollection(t, s)
	if last, err := s.LastAdded(ctx(t), col); err != nil || !last.IsZero() {
		t.Fatalf("empty collection: %v, %v; want zero", last, err)
	}
	res := putAdded(t, s, col, "", Indicator(t, 1, t1), Indicator(t, 2, t1))
	other := newCollection(t, s)
	putAdded(t, s, other, "", Indicator(t, 3, t1)) // later, but in another collection
	last, err := s.LastAdded(ctx(t), col)
	if err != nil || !last.Equal(res[1].DateAdded) {
		t.Fatalf("last added %v, %v; want %v", last, err, res[1].DateAdded)
	}
	if _, err := s.LastAdded(ctx(t), NewUUID()); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown collection: %v, want ErrNotFound", err)
	}
}
