// Package storetest is the conformance suite that every store.Store backend passes.
// It uses only the store interface, so a backend is correct for quadshare exactly when
// Run passes against it:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) store.Store { return openFresh(t) })
//	}
//
// open must return an empty store that the suite may write to freely, signing audit
// checkpoints with AuditKey; the suite closes it. Times handed to the store are at microsecond precision, the finest that every
// backend keeps.
package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"quadshare/internal/stix"
	"quadshare/internal/store"
	"quadshare/internal/uuid"
)

// Run runs every conformance test against stores made by open.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Collections", testCollections},
		{"LookupsOfUntextualKeys", testLookupsOfUntextualKeys},
		{"CollectionNamesConcurrent", testCollectionNamesConcurrent},
		{"PutAndQuery", testPutAndQuery},
		{"PutUnknownCollection", testPutUnknownCollection},
		{"LargeBatch", testLargeBatch},
		{"DateAddedIncreasing", testDateAddedIncreasing},
		{"DateAddedConcurrent", testDateAddedConcurrent},
		{"DuplicateAndConflict", testDuplicateAndConflict},
		{"ReorderedDuplicate", testReorderedDuplicate},
		{"SCOVersion", testSCOVersion},
		{"SameObjectTwoCollections", testSameObjectTwoCollections},
		{"Versions", testVersions},
		{"VersionsPerCollection", testVersionsPerCollection},
		{"VersionsAndSpecVersion", testVersionsAndSpecVersion},
		{"VersionsInSnapshot", testVersionsInSnapshot},
		{"Filters", testFilters},
		{"Submitter", testSubmitter},
		{"Pagination", testPagination},
		{"PaginationWhileWriting", testPaginationWhileWriting},
		{"Delete", testDelete},
		{"Search", testSearch},
		{"Count", testCount},
		{"LastAdded", testLastAdded},
		{"ContextCancelled", testContextCancelled},
		{"PutCancelledMidway", testPutCancelledMidway},
		{"Statuses", testStatuses},
		{"Organisations", testOrganisations},
		{"Users", testUsers},
		{"Tokens", testTokens},
		{"Grants", testGrants},
		{"Peers", testPeers},
		{"PeerLeaseRace", testPeerLeaseRace},
		{"AuditAppendAndPage", testAuditAppendAndPage},
		{"AuditConcurrent", testAuditConcurrent},
		{"AuditFailedAction", testAuditFailedAction},
		{"AuditReceipt", testAuditReceipt},
		{"AuditAdminActions", testAuditAdminActions},
		{"AuditLookups", testAuditLookups},
		{"JobTakeover", testJobTakeover},
		{"JobsRunOnce", testJobsRunOnce},
		{"Operators", testOperators},
		{"ReportVersions", testReportVersions},
		{"ReportConcurrentUpdates", testReportConcurrentUpdates},
		{"ReportQueries", testReportQueries},
		{"ReportsPerDay", testReportsPerDay},
		{"ReportChanges", testReportChanges},
		{"ReportAudit", testReportAudit},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("close: %v", err)
				}
			})
			tc.fn(t, s)
		})
	}
}

// testLookupsOfUntextualKeys: every lookup by a key that a client may send
// (a collection in a URL, a user name in a login, a report id) answers
// ErrNotFound for a key that cannot be text in every database: one with U+0000
// or bytes that are not UTF-8. No row can have it.
func testLookupsOfUntextualKeys(t *testing.T, s store.Store) {
	ctx := context.Background()
	lookups := map[string]func(key string) error{
		"Collection":         func(k string) error { _, err := s.Collection(ctx, k); return err },
		"Status":             func(k string) error { _, err := s.Status(ctx, k); return err },
		"Organisation":       func(k string) error { _, err := s.Organisation(ctx, k); return err },
		"User":               func(k string) error { _, err := s.User(ctx, k); return err },
		"UserByCert":         func(k string) error { _, err := s.UserByCert(ctx, k); return err },
		"Token":              func(k string) error { _, err := s.Token(ctx, k); return err },
		"Report":             func(k string) error { _, err := s.Report(ctx, k); return err },
		"ReportVersionByKey": func(k string) error { _, err := s.ReportVersionByKey(ctx, k, k); return err },
		"Peer":               func(k string) error { _, err := s.Peer(ctx, k); return err },
		"PeerByFingerprint":  func(k string) error { _, err := s.PeerByFingerprint(ctx, k); return err },
	}
	for name, lookup := range lookups {
		for _, key := range []string{"\x00", "a\x00b", "\xff", "\xc3\x28"} {
			if err := lookup(key); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s(%q): %v, want ErrNotFound", name, key, err)
			}
		}
	}
}

// Obj builds a STIX object from literal fields, as the decoder would hand it to a
// store: Raw is compact JSON with type, spec_version ("2.1" unless extra sets it; a nil
// value omits it), id, created and modified (each omitted when ""), then the extra
// properties given as name, value pairs. name (or value), description and revoked fill
// the matching Object fields.
func Obj(t testing.TB, id, typ, created, modified string, extra ...any) stix.Object {
	t.Helper()
	if len(extra)%2 != 0 {
		t.Fatalf("storetest.Obj: extra must be name, value pairs")
	}
	o := stix.Object{ID: id, Type: typ, SpecVersion: "2.1"}
	var err error
	if created != "" {
		if o.Created, err = stix.ParseTimestamp(created); err != nil {
			t.Fatalf("storetest.Obj: %v", err)
		}
	}
	if modified != "" {
		if o.Modified, err = stix.ParseTimestamp(modified); err != nil {
			t.Fatalf("storetest.Obj: %v", err)
		}
	}
	type member struct {
		name  string
		value any
	}
	var rest []member
	for i := 0; i < len(extra); i += 2 {
		name, ok := extra[i].(string)
		if !ok {
			t.Fatalf("storetest.Obj: property name %v is not a string", extra[i])
		}
		v := extra[i+1]
		switch name {
		case "spec_version":
			if v == nil {
				o.SpecVersion = ""
			} else {
				o.SpecVersion = fmt.Sprint(v)
			}
			continue
		case "name", "value":
			o.Name = fmt.Sprint(v)
		case "description":
			o.Description = fmt.Sprint(v)
		case "revoked":
			o.Revoked = v == true
		}
		rest = append(rest, member{name, v})
	}
	var b bytes.Buffer
	add := func(name string, v any) {
		if b.Len() == 0 {
			b.WriteByte('{')
		} else {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(name)
		val, err := json.Marshal(v)
		if err != nil {
			t.Fatalf("storetest.Obj: %s: %v", name, err)
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(val)
	}
	add("type", typ)
	if o.SpecVersion != "" {
		add("spec_version", o.SpecVersion)
	}
	add("id", id)
	if created != "" {
		add("created", created)
	}
	if modified != "" {
		add("modified", modified)
	}
	for _, m := range rest {
		add(m.name, m.value)
	}
	b.WriteByte('}')
	o.Raw = b.Bytes()
	return o
}

// NewID returns a fresh STIX identifier "typ--<random UUIDv4>".
func NewID(typ string) string { return typ + "--" + NewUUID() }

// NewUUID returns a random version 4 UUID.
func NewUUID() string { return uuid.New() }

// Indicator returns a realistic indicator of about 600 bytes with a fresh id, the
// given created/modified timestamp and a name built from n; benchmarks use it too.
func Indicator(t testing.TB, n int, ts string) stix.Object {
	t.Helper()
	id := NewID("indicator")
	return Obj(t, id, "indicator", ts, ts,
		"created_by_ref", "identity--f431f809-377b-45e0-aa1c-6a4751cae5ff",
		"name", fmt.Sprintf("Malicious site hosting downloader %d", n),
		"description", "This organized threat actor group operates to create profit from all types of crime, distributing droppers through compromised sites.",
		"indicator_types", []string{"malicious-activity"},
		"pattern", fmt.Sprintf("[url:value = 'http://x4z9arb%d.cn/4712/']", n),
		"pattern_type", "stix",
		"valid_from", ts,
		"labels", []string{"phishing", "dropper"},
		"object_marking_refs", []string{"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"},
		"kill_chain_phases", []map[string]string{{"kill_chain_name": "mitre-attack", "phase_name": "initial-access"}},
	)
}

// ctx returns a context that ends with the test.
func ctx(t *testing.T) context.Context { return t.Context() }

// now is the current time at microsecond precision.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// winners runs try(0) to try(n-1) at once and returns how many succeeded; every
// other one must fail with lost.
func winners(t *testing.T, n int, lost error, try func(i int) error) int {
	t.Helper()
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = try(i) })
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, lost):
			t.Errorf("a loser: %v, want %v", err, lost)
		}
	}
	return won
}

// newCollection creates a collection with a fresh id and returns the id.
func newCollection(t *testing.T, s store.Store) string {
	t.Helper()
	id := NewUUID()
	err := s.CreateCollection(ctx(t), store.Collection{
		ID: id, Title: "Collection " + id[:8], MediaTypes: []string{"application/stix+json;version=2.1"}, CreatedAt: now(),
	})
	if err != nil {
		t.Fatalf("create collection: %v", err)
	}
	return id
}

// put puts objs and fails the test on an error or a result count mismatch.
func put(t *testing.T, s store.Store, col, submitter string, objs ...stix.Object) []store.PutResult {
	t.Helper()
	res, err := s.Put(ctx(t), col, submitter, objs)
	if err != nil {
		t.Fatalf("put: %v", err)
	}
	if len(res) != len(objs) {
		t.Fatalf("put: %d results for %d objects", len(res), len(objs))
	}
	return res
}

// putAdded puts objs and fails unless every one was Added.
func putAdded(t *testing.T, s store.Store, col, submitter string, objs ...stix.Object) []store.PutResult {
	t.Helper()
	res := put(t, s, col, submitter, objs...)
	for i, r := range res {
		if r.Outcome != store.Added {
			t.Fatalf("put %s: outcome %v, want added", objs[i].ID, r.Outcome)
		}
		if r.DateAdded.IsZero() {
			t.Fatalf("put %s: zero DateAdded", objs[i].ID)
		}
	}
	return res
}

// query runs q and fails the test on error.
func query(t *testing.T, s store.Store, q store.Query) store.Page {
	t.Helper()
	if q.Limit == 0 {
		q.Limit = 1000
	}
	p, err := s.Query(ctx(t), q)
	if err != nil {
		t.Fatalf("query %+v: %v", q, err)
	}
	checkOrder(t, p.Entries)
	return p
}

// checkOrder fails unless entries are in strictly ascending date_added.
func checkOrder(t *testing.T, es []store.Entry) {
	t.Helper()
	for i := 1; i < len(es); i++ {
		if !es[i].DateAdded.After(es[i-1].DateAdded) {
			t.Fatalf("entries not in ascending date_added: %v then %v", es[i-1].DateAdded, es[i].DateAdded)
		}
	}
}

// versions lists entries as "id@modified" in order.
func versions(es []store.Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Object.ID + "@" + e.Object.Version().String()
	}
	return out
}

func label(o stix.Object) string { return o.ID + "@" + o.Version().String() }

// sameStrings fails unless got equals want (order matters).
func sameStrings(t *testing.T, what string, got, want []string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("%s:\n got  %q\n want %q", what, got, want)
	}
}

// sameObject fails unless got carries every field of want.
func sameObject(t *testing.T, got, want stix.Object) {
	t.Helper()
	if got.ID != want.ID || got.Type != want.Type || got.SpecVersion != want.SpecVersion ||
		got.Created.String() != want.Created.String() || got.Modified.String() != want.Modified.String() ||
		got.Revoked != want.Revoked || got.Name != want.Name || got.Description != want.Description {
		t.Fatalf("object fields differ:\n got  %+v\n want %+v", brief(got), brief(want))
	}
	if !bytes.Equal(got.Raw, want.Raw) {
		t.Fatalf("object %s raw differs:\n got  %s\n want %s", want.ID, got.Raw, want.Raw)
	}
}

func brief(o stix.Object) string {
	return fmt.Sprintf("{id=%s type=%s spec=%q created=%q modified=%q revoked=%v name=%q desc=%q}",
		o.ID, o.Type, o.SpecVersion, o.Created, o.Modified, o.Revoked, o.Name, o.Description)
}
