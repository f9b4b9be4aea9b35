package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"quadshare/internal/store"
)

func testOperators(t *testing.T, s store.Store) {
	if _, err := s.Operator(ctx(t), "org-none"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown operator: %v, want ErrNotFound", err)
	}
	p := store.OperatorProfile{Org: "org-1", Sectors: []string{"energy", "water-sewerage"}, SizeBand: "large", Consent: "never",
		Created: now().Add(-time.Hour), Modified: now().Add(-time.Hour)}
	if err := s.PutOperator(ctx(t), p); err != nil {
		t.Fatal(err)
	}
	p.Consent, p.Sectors, p.Modified = "partners", []string{"transport"}, now()
	if err := s.PutOperator(ctx(t), p); err != nil {
		t.Fatal(err)
	}
	got, err := s.Operator(ctx(t), "org-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.Org != p.Org || !slices.Equal(got.Sectors, p.Sectors) || got.SizeBand != p.SizeBand || got.Consent != p.Consent ||
		!got.Created.Equal(p.Created) || !got.Modified.Equal(p.Modified) {
		t.Fatalf("operator:\n got  %+v\n want %+v", got, p)
	}
}

// submission builds version n of report id received at at.
func submission(id, operator string, n int, at time.Time, key string) (store.Report, store.ReportVersion, store.ReportRevision) {
	r := store.Report{ID: id, Operator: operator, Collection: "inbox-" + operator, Status: "new",
		Versions: n, Created: at, Modified: at}
	v := store.ReportVersion{Report: id, Version: n, Operator: operator, Author: "user-" + operator, IdempotencyKey: key,
		Received: at, Body: []byte(`{"title":"v` + string(rune('0'+n)) + `"}`), Receipt: []byte(`{"version":` + string(rune('0'+n)) + `}`)}
	rev := store.ReportRevision{Report: id, Modified: at, Objects: []byte(`[{"type":"incident"}]`)}
	return r, v, rev
}

func sameReport(t *testing.T, got, want store.Report) {
	t.Helper()
	if got.ID != want.ID || got.Operator != want.Operator || got.Collection != want.Collection || got.Status != want.Status ||
		got.Marking != want.Marking || got.Versions != want.Versions || !got.Created.Equal(want.Created) ||
		!got.Modified.Equal(want.Modified) || !got.Due.Equal(want.Due) || got.Late != want.Late {
		t.Fatalf("report:\n got  %+v\n want %+v", got, want)
	}
}

// A report's versions, idempotency keys and revisions: every refusal leaves nothing
// behind.
func testReportVersions(t *testing.T, s store.Store) {
	id := NewUUID()
	t0 := now().Add(-time.Hour)
	r, v, rev := submission(id, "org-1", 1, t0, "key-1")
	r.Due = t0.Add(6 * time.Hour)
	if _, err := s.Report(ctx(t), id); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown report: %v", err)
	}
	if err := s.SubmitReport(ctx(t), r, v, rev); err != nil {
		t.Fatal(err)
	}
	got, err := s.Report(ctx(t), id)
	if err != nil {
		t.Fatal(err)
	}
	sameReport(t, got, r)
	if err := s.SubmitReport(ctx(t), r, v, rev); !errors.Is(err, store.ErrExists) {
		t.Fatalf("the same first version again: %v, want ErrExists", err)
	}
	// Another report under a key this operator used: refused whole.
	other := NewUUID()
	r2, v2, rev2 := submission(other, "org-1", 1, t0, "key-1")
	if err := s.SubmitReport(ctx(t), r2, v2, rev2); !errors.Is(err, store.ErrExists) {
		t.Fatalf("a used idempotency key: %v, want ErrExists", err)
	}
	if _, err := s.Report(ctx(t), other); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a refused submission left a report: %v", err)
	}
	// Another operator may use the same key.
	r3, v3, rev3 := submission(other, "org-2", 1, t0, "key-1")
	if err := s.SubmitReport(ctx(t), r3, v3, rev3); err != nil {
		t.Fatalf("the same key by another operator: %v", err)
	}
	bykey, err := s.ReportVersionByKey(ctx(t), "org-1", "key-1")
	if err != nil || bykey.Report != id || !bytes.Equal(bykey.Receipt, v.Receipt) {
		t.Fatalf("by key: %+v, %v", bykey, err)
	}
	if _, err := s.ReportVersionByKey(ctx(t), "org-1", "key-2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown key: %v", err)
	}
	if _, err := s.ReportVersionByKey(ctx(t), "org-1", ""); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("empty key: %v", err)
	}

	// Version 3 before version 2, and an update of an unknown report.
	t1 := t0.Add(time.Minute)
	r, v, rev = submission(id, "org-1", 3, t1, "")
	if err := s.SubmitReport(ctx(t), r, v, rev); !errors.Is(err, store.ErrExists) {
		t.Fatalf("version 3 after 1: %v, want ErrExists", err)
	}
	ru, vu, revu := submission(NewUUID(), "org-1", 2, t1, "")
	if err := s.SubmitReport(ctx(t), ru, vu, revu); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("update of an unknown report: %v, want ErrNotFound", err)
	}
	r, v, rev = submission(id, "org-1", 2, t1, "")
	r.Created, r.Late = t0, true
	if err := s.SubmitReport(ctx(t), r, v, rev); err != nil {
		t.Fatal(err)
	}
	got, err = s.Report(ctx(t), id)
	if err != nil {
		t.Fatal(err)
	}
	want := r
	want.Created, want.Due, want.Versions = t0, time.Time{}, 2
	sameReport(t, got, want)
	vs, err := s.ReportVersions(ctx(t), id)
	if err != nil || len(vs) != 2 || vs[0].Version != 1 || vs[1].Version != 2 || !vs[1].Received.Equal(t1) ||
		vs[0].IdempotencyKey != "key-1" || vs[1].Author != "user-org-1" || !bytes.Equal(vs[1].Body, v.Body) {
		t.Fatalf("versions: %+v, %v", vs, err)
	}
	// Two revisions, neither filed; filing one leaves the other.
	revs, err := s.ReportRevisions(ctx(t), id)
	if err != nil || len(revs) != 2 || !revs[0].Modified.Equal(t0) || !revs[1].Modified.Equal(t1) || revs[0].Filed ||
		!bytes.Equal(revs[1].Objects, rev.Objects) {
		t.Fatalf("revisions: %+v, %v", revs, err)
	}
	if err := s.MarkRevisionFiled(ctx(t), id, t0); err != nil {
		t.Fatal(err)
	}
	if err := s.MarkRevisionFiled(ctx(t), id, t0.Add(time.Second)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("filing an unknown revision: %v, want ErrNotFound", err)
	}
	unfiled, err := s.UnfiledRevisions(ctx(t), 10)
	if err != nil {
		t.Fatal(err)
	}
	var mine []time.Time
	for _, u := range unfiled {
		if u.Report == id {
			mine = append(mine, u.Modified)
		}
	}
	if len(mine) != 1 || !mine[0].Equal(t1) {
		t.Fatalf("unfiled revisions of the report: %v", mine)
	}
	if vs, err := s.ReportVersions(ctx(t), NewUUID()); err != nil || len(vs) != 0 {
		t.Fatalf("versions of an unknown report: %v, %v", vs, err)
	}
}

// Concurrent updates of one report: exactly one wins each version number.
func testReportConcurrentUpdates(t *testing.T, s store.Store) {
	id := NewUUID()
	t0 := now().Add(-time.Hour)
	r, v, rev := submission(id, "org-1", 1, t0, "")
	if err := s.SubmitReport(ctx(t), r, v, rev); err != nil {
		t.Fatal(err)
	}
	won := winners(t, 8, store.ErrExists, func(i int) error {
		r, v, rev := submission(id, "org-1", 2, t0.Add(time.Duration(i+1)*time.Millisecond), "")
		return s.SubmitReport(ctx(t), r, v, rev)
	})
	vs, err := s.ReportVersions(ctx(t), id)
	revs, err2 := s.ReportRevisions(ctx(t), id)
	if won != 1 || err != nil || len(vs) != 2 || err2 != nil || len(revs) != 2 {
		t.Fatalf("%d winners, %d versions (%v), %d revisions (%v); want 1, 2, 2", won, len(vs), err, len(revs), err2)
	}
}

func testReportQueries(t *testing.T, s store.Store) {
	base := now().Add(-10 * time.Hour)
	type spec struct {
		op, status string
		due        time.Duration // 0: none
	}
	specs := []spec{
		{"org-a", "new", 5 * time.Hour}, {"org-a", "triaged", 0}, {"org-b", "new", 2 * time.Hour},
		{"org-b", "closed", 1 * time.Hour}, {"org-a", "new", 3 * time.Hour}, {"org-b", "new", 0},
	}
	var ids []string
	for i, sp := range specs {
		id := NewUUID()
		ids = append(ids, id)
		r, v, rev := submission(id, sp.op, 1, base.Add(time.Duration(i)*time.Minute), "")
		r.Status = sp.status
		if sp.due > 0 {
			r.Due = base.Add(sp.due)
		}
		if err := s.SubmitReport(ctx(t), r, v, rev); err != nil {
			t.Fatal(err)
		}
	}
	list := func(q store.ReportQuery) []string {
		t.Helper()
		rs, err := s.Reports(ctx(t), q)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range rs {
			out = append(out, r.ID)
		}
		return out
	}
	at := func(is ...int) []string {
		var out []string
		for _, i := range is {
			out = append(out, ids[i])
		}
		return out
	}
	for _, tc := range []struct {
		name string
		q    store.ReportQuery
		want []string
	}{
		{"all, newest first", store.ReportQuery{Limit: 10}, at(5, 4, 3, 2, 1, 0)},
		{"one operator", store.ReportQuery{Operator: "org-a", Limit: 10}, at(4, 1, 0)},
		{"statuses", store.ReportQuery{Statuses: []string{"new", "triaged"}, Limit: 10}, at(5, 4, 2, 1, 0)},
		{"due, earliest first", store.ReportQuery{WithDue: true, Limit: 10}, at(3, 2, 4, 0)},
		{"open and due", store.ReportQuery{WithDue: true, Statuses: []string{"new", "triaged"}, Limit: 10}, at(2, 4, 0)},
		{"limit", store.ReportQuery{Limit: 2}, at(5, 4)},
		{"after, newest first", store.ReportQuery{AfterTime: base.Add(4 * time.Minute), AfterID: ids[4], Limit: 2}, at(3, 2)},
		{"after, by due", store.ReportQuery{WithDue: true, AfterTime: base.Add(2 * time.Hour), AfterID: ids[2], Limit: 10}, at(4, 0)},
		{"no match", store.ReportQuery{Operator: "org-c", Limit: 10}, nil},
	} {
		if got := list(tc.q); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func testReportChanges(t *testing.T, s store.Store) {
	id := NewUUID()
	t0 := now().Add(-time.Hour)
	r, v, rev := submission(id, "org-1", 1, t0, "")
	if err := s.SubmitReport(ctx(t), r, v, rev); err != nil {
		t.Fatal(err)
	}
	ev := func(action, from, to, text string) store.ReportEvent {
		return store.ReportEvent{Report: id, At: now(), Actor: "user-analyst", Action: action, From: from, To: to, Text: text}
	}
	if err := s.ChangeReport(ctx(t), ev(store.ReportNote, "", "", "looks real"), nil); err != nil {
		t.Fatal(err)
	}
	if err := s.ChangeReport(ctx(t), ev(store.ReportStatus, "triaged", "shared", ""), nil); !errors.Is(err, store.ErrReportChanged) {
		t.Fatalf("from a status it does not have: %v, want ErrReportChanged", err)
	}
	if err := s.ChangeReport(ctx(t), ev(store.ReportStatus, "new", "triaged", "confirmed"), nil); err != nil {
		t.Fatal(err)
	}
	t1 := now()
	mrev := &store.ReportRevision{Report: id, Modified: t1, Objects: []byte(`[{"marking":"amber"}]`)}
	if err := s.ChangeReport(ctx(t), ev(store.ReportMarking, "green", "amber", ""), mrev); !errors.Is(err, store.ErrReportChanged) {
		t.Fatalf("marking from a value it does not have: %v", err)
	}
	if err := s.ChangeReport(ctx(t), ev(store.ReportMarking, "", "amber", "holds names"), mrev); err != nil {
		t.Fatal(err)
	}
	if err := s.ChangeReport(ctx(t), ev(store.ReportMarking, "amber", "red", ""), mrev); !errors.Is(err, store.ErrExists) {
		t.Fatalf("a revision at a time that has one: %v, want ErrExists", err)
	}
	rel := ev(store.ReportRelease, "triaged", "shared", "")
	rel.Collection = "partners"
	if err := s.ChangeReport(ctx(t), rel, nil); err != nil {
		t.Fatal(err)
	}
	unknown := ev(store.ReportNote, "", "", "x")
	unknown.Report = NewUUID()
	if err := s.ChangeReport(ctx(t), unknown, nil); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("note on an unknown report: %v, want ErrNotFound", err)
	}
	unknown.Action, unknown.From, unknown.To = store.ReportStatus, "new", "closed"
	if err := s.ChangeReport(ctx(t), unknown, nil); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("status of an unknown report: %v, want ErrNotFound", err)
	}
	got, err := s.Report(ctx(t), id)
	if err != nil || got.Status != "shared" || got.Marking != "amber" || !got.Modified.Equal(t1) {
		t.Fatalf("after the changes: %+v, %v", got, err)
	}
	evs, err := s.ReportEvents(ctx(t), id)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for i, e := range evs {
		if e.Seq != i+1 || e.Actor != "user-analyst" {
			t.Errorf("event %d: %+v", i, e)
		}
		actions = append(actions, e.Action+":"+e.From+">"+e.To+":"+e.Collection+":"+e.Text)
	}
	want := []string{"note:>::looks real", "status:new>triaged::confirmed", "marking:>amber::holds names", "release:triaged>shared:partners:"}
	if !slices.Equal(actions, want) {
		t.Fatalf("history:\n got  %q\n want %q", actions, want)
	}
	revs, err := s.ReportRevisions(ctx(t), id)
	if err != nil || len(revs) != 2 || !bytes.Equal(revs[1].Objects, mrev.Objects) {
		t.Fatalf("revisions after the marking change: %+v, %v", revs, err)
	}
	// Concurrent notes are all kept, numbered without gaps.
	var wg sync.WaitGroup
	for range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.ChangeReport(ctx(t), ev(store.ReportNote, "", "", "concurrent"), nil); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if evs, err := s.ReportEvents(ctx(t), id); err != nil || len(evs) != 10 || evs[9].Seq != 10 {
		t.Fatalf("after concurrent notes: %d events, %v", len(evs), err)
	}
}

// testReportAudit: receiving a report, changing it and an operator's consent are
// recorded in the audit trail in their transactions; a refused change is not.
func testReportAudit(t *testing.T, s store.Store) {
	id := NewUUID()
	r, v, rev := submission(id, "org-1", 1, now(), "")
	if err := s.SubmitReport(ctx(t), r, v, rev); err != nil {
		t.Fatal(err)
	}
	change := store.ReportEvent{Report: id, At: now(), Actor: "analyst-1", Action: store.ReportStatus, From: "new", To: "triaged"}
	if err := s.ChangeReport(ctx(t), change, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.ChangeReport(ctx(t), change, nil); !errors.Is(err, store.ErrReportChanged) { // no longer new
		t.Fatalf("stale change: %v", err)
	}
	if err := s.PutOperator(ctx(t), store.OperatorProfile{Org: "org-1", Sectors: []string{"energy"}, SizeBand: "large",
		Consent: "partners", Created: now(), Modified: now()}); err != nil {
		t.Fatal(err)
	}
	recs, err := s.AuditRecords(ctx(t), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, rec := range recs {
		if rec.Subject == "report:"+id || rec.Subject == "org:org-1" {
			got = append(got, string(rec.Kind)+" "+rec.Actor+" "+rec.Subject)
		}
	}
	want := []string{"receipt user:user-org-1 report:" + id, "admin-action user:analyst-1 report:" + id, "admin-action  org:org-1"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("audit records:\n got  %q\n want %q", got, want)
	}
}

// testReportsPerDay counts reports by the UTC day they were first received, at
// the edges of days too.
func testReportsPerDay(t *testing.T, s store.Store) {
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	for i, at := range []time.Time{
		day.Add(-time.Nanosecond), // the day before: not counted
		day, day.Add(23 * time.Hour), day.Add(24*time.Hour - time.Microsecond),
		day.Add(48 * time.Hour), day.Add(48*time.Hour + time.Minute), day.Add(48*time.Hour + 2*time.Minute),
		day.Add(72 * time.Hour), // after the last day: not counted
	} {
		r, v, rev := submission(NewUUID(), fmt.Sprintf("org-%d", i%2), 1, at, "")
		if err := s.SubmitReport(ctx(t), r, v, rev); err != nil {
			t.Fatal(err)
		}
	}
	// since mid-day counts from its midnight
	got, err := s.ReportsPerDay(ctx(t), day.Add(13*time.Hour), 3)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{3, 0, 3}; !slices.Equal(got, want) {
		t.Errorf("reports per day: %v, want %v", got, want)
	}
	if got, err := s.ReportsPerDay(ctx(t), day.AddDate(0, 0, -30), 14); err != nil || !slices.Equal(got, make([]int, 14)) {
		t.Errorf("a fortnight without reports: %v, %v", got, err)
	}
	for _, n := range []int{0, -1, store.MaxReportDays + 1} {
		if _, err := s.ReportsPerDay(ctx(t), day, n); err == nil {
			t.Errorf("%d days were accepted", n)
		}
	}
}
