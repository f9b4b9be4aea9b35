package storetest

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"quadshare/internal/audit"
	"quadshare/internal/stix"
	"quadshare/internal/store"
)

// AuditKey is the key that stores under test must sign audit checkpoints with
// (each backend's WithAuditKey option): the suite verifies their trails with its
// public half.
var AuditKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))

// AuditPublicKey is the public half of AuditKey.
func AuditPublicKey() ed25519.PublicKey { return AuditKey.Public().(ed25519.PublicKey) }

// VerifyAudit reads the whole trail of s and returns the report.
func VerifyAudit(t testing.TB, s store.Store) *audit.Report {
	t.Helper()
	rep, err := audit.Verify(context.Background(), store.AuditSource(s), AuditPublicKey())
	if err != nil {
		t.Fatalf("verify audit trail: %v", err)
	}
	return rep
}

// AuditTrail returns every record of s, read in small pages.
func AuditTrail(t testing.TB, s store.Store) []audit.Record {
	t.Helper()
	var out []audit.Record
	var after int64
	for {
		page, err := s.AuditRecords(context.Background(), after, 7)
		if err != nil {
			t.Fatalf("audit records after %d: %v", after, err)
		}
		out = append(out, page...)
		if len(page) < 7 {
			return out
		}
		after = page[len(page)-1].Seq
	}
}

func lastSeq(t testing.TB, s store.Store) int64 {
	t.Helper()
	trail := AuditTrail(t, s)
	if len(trail) == 0 {
		return 0
	}
	return trail[len(trail)-1].Seq
}

// mustIntact fails unless the trail verifies, with n records and gap-free seqs.
func mustIntact(t *testing.T, s store.Store) *audit.Report {
	t.Helper()
	rep := VerifyAudit(t, s)
	if !rep.OK() {
		t.Fatalf("audit trail: %s\nproblems: %v", rep, rep.Problems)
	}
	return rep
}

// sameEntry compares what a store gave back with what was appended.
func sameEntry(t *testing.T, got audit.Record, want audit.Entry) {
	t.Helper()
	w, err := audit.Chain(audit.Record{}, want) // normalises time and detail
	if err != nil {
		t.Fatalf("chain %+v: %v", want, err)
	}
	g := got.Entry
	if g.Kind != w.Kind || !g.Time.Equal(w.Time) || g.Actor != w.Actor || g.Subject != w.Subject || g.Rule != w.Rule ||
		!slices.Equal(g.Objects, w.Objects) || !bytes.Equal(g.Detail, w.Detail) {
		t.Fatalf("record %d:\n got  %+v\n want %+v", got.Seq, g, w.Entry)
	}
}

func testAuditAppendAndPage(t *testing.T, s store.Store) {
	if got := AuditTrail(t, s); len(got) != 0 {
		t.Fatalf("a fresh store has %d audit records", len(got))
	}
	if err := s.SignAuditCheckpoint(ctx(t)); err != nil {
		t.Fatalf("checkpoint of an empty trail: %v", err)
	}
	if err := s.AppendAudit(ctx(t)); err != nil {
		t.Fatalf("append nothing: %v", err)
	}
	at := time.Date(2026, 11, 22, 4, 46, 25, 123456789, time.UTC)
	var want []audit.Entry
	for i := range 23 {
		e := audit.Entry{Kind: audit.Disclosure, Time: at.Add(time.Duration(i) * time.Second), Actor: "peer:jp",
			Subject: "collection:shared", Rule: fmt.Sprintf("agreement:jp/%d", i),
			Objects: []audit.ObjectRef{{ID: NewID("indicator"), Version: "2026-11-20T10:00:00.000Z"}, {ID: NewID("malware"), Version: "2026-11-20T10:00:00Z"}},
			// Members out of order and spaced: the store keeps the canonical form.
			Detail: json.RawMessage(fmt.Sprintf(`{ "page": %d, "note": "ünïcode \u00e9 \"quoted\"", "a": [1, 2.5, true, null] }`, i)),
		}
		if i%3 == 1 {
			e = audit.Entry{Kind: audit.AuthEvent, Time: e.Time, Actor: "user:alice"}
		}
		want = append(want, e)
	}
	if err := s.AppendAudit(ctx(t), want[:20]...); err != nil {
		t.Fatalf("append: %v", err)
	}
	for _, e := range want[20:] {
		if err := s.AppendAudit(ctx(t), e); err != nil {
			t.Fatalf("append: %v", err)
		}
	}
	got := AuditTrail(t, s)
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d", len(got), len(want))
	}
	prev := audit.Record{}
	for i, r := range got {
		if r.Seq != int64(i+1) || r.PrevHash != prev.Hash {
			t.Fatalf("record %d: seq %d, prev %s; want seq %d after %s", i, r.Seq, r.PrevHash, i+1, prev.Hash)
		}
		sameEntry(t, r, want[i])
		prev = r
	}
	// Pages start after the seq given and stop at the limit.
	page, err := s.AuditRecords(ctx(t), 5, 4)
	if err != nil || len(page) != 4 || page[0].Seq != 6 || page[3].Seq != 9 {
		t.Fatalf("records after 5, limit 4: %d records, %v", len(page), err)
	}
	if page, err := s.AuditRecords(ctx(t), int64(len(want)), 10); err != nil || len(page) != 0 {
		t.Fatalf("records after the last: %d, %v", len(page), err)
	}

	// A bad entry fails its call alone and appends nothing.
	bad := []audit.Entry{
		{Kind: "no-such-kind", Time: at},
		{Kind: audit.Receipt}, // no time
		{Kind: audit.Receipt, Time: at, Actor: "line\nbreak"},
		{Kind: audit.Receipt, Time: at, Detail: json.RawMessage(`[1]`)},
	}
	for _, e := range bad {
		if err := s.AppendAudit(ctx(t), want[0], e); !errors.Is(err, audit.ErrInvalid) {
			t.Fatalf("append %+v: %v, want ErrInvalid", e, err)
		}
	}
	if n := lastSeq(t, s); n != int64(len(want)) {
		t.Fatalf("after refused appends the trail ends at %d, want %d", n, len(want))
	}
	rep := mustIntact(t, s)
	if rep.Records != int64(len(want)) || rep.Checkpoints != 0 {
		t.Fatalf("report %s: want %d records and no checkpoint", rep, len(want))
	}

	// On demand: one checkpoint of the last record, however often asked.
	for range 2 {
		if err := s.SignAuditCheckpoint(ctx(t)); err != nil {
			t.Fatalf("checkpoint: %v", err)
		}
	}
	cps, err := s.AuditCheckpoints(ctx(t), 0, 10)
	if err != nil || len(cps) != 1 || cps[0].Seq != int64(len(want)) || cps[0].Hash != got[len(got)-1].Hash {
		t.Fatalf("checkpoints: %+v, %v; want one of record %d", cps, err, len(want))
	}
	if err := cps[0].Verify(AuditPublicKey()); err != nil {
		t.Fatalf("checkpoint signature: %v", err)
	}
	if rep := mustIntact(t, s); rep.Verified != 1 || rep.LastCheckpoint != int64(len(want)) {
		t.Fatalf("report %s: want the checkpoint verified", rep)
	}
}

// testAuditConcurrent appends from many goroutines at once (as TAXII readers
// recording their pages do) while others Put: every record is there once, the
// seqs have no gap, and checkpoints were signed every audit.CheckpointEvery.
func testAuditConcurrent(t *testing.T, s store.Store) {
	col := newCollection(t, s)
	base := lastSeq(t, s)
	const readers, calls, writers, puts = 50, 26, 3, 5
	var wg sync.WaitGroup
	errs := make(chan error, readers+writers)
	for r := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range calls {
				var b audit.Batch
				b.Time, b.Actor, b.Subject = time.Now(), fmt.Sprintf("user:reader-%d", r), "collection:"+col
				b.Detail = json.RawMessage(fmt.Sprintf(`{"call":%d}`, c))
				b.Add("rule:a", audit.ObjectRef{ID: "indicator--a", Version: "2026-01-01T00:00:00Z"})
				if c%2 == 0 { // every other page was allowed by two rules: two records
					b.Add("rule:b", audit.ObjectRef{ID: "indicator--b", Version: "2026-01-01T00:00:00Z"})
				}
				if err := s.AppendAudit(ctx(t), b.Entries()...); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range puts {
				objs := []stix.Object{Indicator(t, w*1000+p, t1)}
				if _, err := s.Put(ctx(t), col, fmt.Sprintf("writer-%d", w), objs); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent append: %v", err)
	}
	disclosures := readers * (calls + (calls+1)/2)
	total := disclosures + writers*puts
	trail := AuditTrail(t, s)
	if got := len(trail) - int(base); got != total {
		t.Fatalf("%d new records, want %d", got, total)
	}
	seen := make(map[string]bool)
	receipts := 0
	for i, r := range trail {
		if r.Seq != int64(i+1) {
			t.Fatalf("record %d has seq %d", i+1, r.Seq)
		}
		if r.Seq <= base {
			continue
		}
		switch r.Kind {
		case audit.Disclosure:
			key := r.Actor + " " + string(r.Detail) + " " + r.Rule
			if seen[key] {
				t.Fatalf("record %d repeats %s", r.Seq, key)
			}
			seen[key] = true
		case audit.Receipt:
			receipts++
		default:
			t.Fatalf("record %d: kind %s", r.Seq, r.Kind)
		}
	}
	if len(seen) != disclosures || receipts != writers*puts {
		t.Fatalf("%d disclosures and %d receipts, want %d and %d", len(seen), receipts, disclosures, writers*puts)
	}
	if err := s.SignAuditCheckpoint(ctx(t)); err != nil {
		t.Fatalf("checkpoint: %v", err)
	}
	rep := mustIntact(t, s)
	last := int64(len(trail))
	wantCps := last / audit.CheckpointEvery
	if last%audit.CheckpointEvery != 0 {
		wantCps++ // the one signed on demand
	}
	if rep.Records != last || rep.Checkpoints != wantCps || rep.Verified != wantCps || rep.LastCheckpoint != last {
		t.Fatalf("report %s: want %d records and %d verified checkpoints, the last at %d", rep, last, wantCps, last)
	}
	cps, err := s.AuditCheckpoints(ctx(t), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	for i := range last / audit.CheckpointEvery {
		if want := (i + 1) * audit.CheckpointEvery; cps[i].Seq != want || cps[i].Hash != trail[want-1].Hash {
			t.Fatalf("checkpoint %d: seq %d, want %d with the record's hash", i, cps[i].Seq, want)
		}
	}
}

// testAuditFailedAction: an action that fails leaves no record.
func testAuditFailedAction(t *testing.T, s store.Store) {
	col := newCollection(t, s)
	org := newOrg(t, s)
	u := store.User{ID: NewUUID(), Name: "alice", Org: org, Role: store.RoleAnalyst, CreatedAt: now()}
	if err := s.CreateUser(ctx(t), u); err != nil {
		t.Fatal(err)
	}
	before := lastSeq(t, s)
	failures := []struct {
		what string
		err  error
	}{
		{"duplicate user", s.CreateUser(ctx(t), store.User{ID: NewUUID(), Name: "alice", Org: org, Role: store.RoleReader, CreatedAt: now()})},
		{"user of an unknown organisation", s.CreateUser(ctx(t), store.User{ID: NewUUID(), Name: "bob", Org: NewUUID(), Role: store.RoleReader, CreatedAt: now()})},
		{"duplicate collection", s.CreateCollection(ctx(t), store.Collection{ID: col, Title: "again", CreatedAt: now()})},
		{"disable an unknown user", s.DisableUser(ctx(t), NewUUID(), now())},
		{"revoke an unknown token", s.RevokeToken(ctx(t), "no-such-token", now())},
		{"token of an unknown user", s.CreateToken(ctx(t), store.Token{ID: "tok-x", User: NewUUID(), Hash: []byte("h"), CreatedAt: now()})},
	}
	for _, f := range failures {
		if f.err == nil {
			t.Fatalf("%s: succeeded", f.what)
		}
	}
	if _, err := s.Put(ctx(t), NewUUID(), "org-1", []stix.Object{Indicator(t, 1, t1)}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("put into an unknown collection: %v", err)
	}
	if _, err := s.Delete(ctx(t), NewUUID(), NewID("indicator"), store.VersionFilter{All: true}, nil); err == nil {
		t.Fatal("delete from an unknown collection succeeded")
	}
	if after := lastSeq(t, s); after != before {
		t.Fatalf("failed actions appended records %d to %d", before+1, after)
	}
	mustIntact(t, s)
}

// testAuditReceipt: every Put appends a receipt listing the versions it added.
func testAuditReceipt(t *testing.T, s store.Store) {
	col := newCollection(t, s)
	a := Indicator(t, 1, t1)
	b := Indicator(t, 2, t2)
	d := Indicator(t, 3, t3)
	res := put(t, s, col, "org-1", a, b)
	res2 := put(t, s, col, "org-1", a, d) // a is a duplicate now
	if res2[0].Outcome != store.Duplicate || res[0].Outcome != store.Added {
		t.Fatalf("outcomes %v, %v", res, res2)
	}
	c := Indicator(t, 4, t1)
	put(t, s, col, "org-2", c)
	trail := AuditTrail(t, s)
	if len(trail) < 4 { // the collection, then three receipts
		t.Fatalf("%d audit records after creating a collection and three Puts", len(trail))
	}
	receipts := trail[len(trail)-3:]
	want := []struct {
		actor, detail string
		objs          []stix.Object
	}{
		{"org:org-1", `{"added":2,"conflicts":0,"duplicates":0}`, []stix.Object{a, b}},
		{"org:org-1", `{"added":1,"conflicts":0,"duplicates":1}`, []stix.Object{d}},
		{"org:org-2", `{"added":1,"conflicts":0,"duplicates":0}`, []stix.Object{c}},
	}
	for i, w := range want {
		r := receipts[i]
		if r.Kind != audit.Receipt || r.Actor != w.actor || r.Subject != "collection:"+col || string(r.Detail) != w.detail {
			t.Fatalf("receipt %d: %+v, want actor %s, detail %s", i, r.Entry, w.actor, w.detail)
		}
		var refs []audit.ObjectRef
		for _, o := range w.objs {
			refs = append(refs, audit.ObjectRef{ID: o.ID, Version: o.Version().String()})
		}
		if !slices.Equal(r.Objects, refs) {
			t.Fatalf("receipt %d lists %v, want %v", i, r.Objects, refs)
		}
	}

	// The actor of the context wins; the submitting organisation goes in the detail.
	actx := store.WithActor(ctx(t), "user:bob")
	if _, err := s.Put(actx, col, "org-3", []stix.Object{Indicator(t, 5, t1)}); err != nil {
		t.Fatal(err)
	}
	// A Put of more than audit.MaxObjects versions takes several records.
	big := make([]stix.Object, audit.MaxObjects+3)
	for i := range big {
		big[i] = Indicator(t, 100+i, t1)
	}
	if _, err := s.Put(actx, col, "org-3", big); err != nil {
		t.Fatal(err)
	}
	// The longest STIX id (a type of 250 characters) fits in a record.
	longType := "x-" + strings.Repeat("a", 248)
	long := Obj(t, longType+"--"+NewUUID(), longType, t1, t1)
	if _, err := s.Put(ctx(t), col, "org-3", []stix.Object{long}); err != nil {
		t.Fatalf("put an object of the longest type: %v", err)
	}
	trail = AuditTrail(t, s)
	if r := trail[len(trail)-1]; len(r.Objects) != 1 || r.Objects[0].ID != long.ID {
		t.Fatalf("receipt of the longest id: %+v", r.Entry)
	}
	tail := trail[len(trail)-4 : len(trail)-1]
	if r := tail[0]; r.Actor != "user:bob" || string(r.Detail) != `{"added":1,"conflicts":0,"duplicates":0,"submitter":"org-3"}` {
		t.Fatalf("receipt with an actor: %+v", r.Entry)
	}
	var listed []audit.ObjectRef
	for i, r := range tail[1:] {
		wantDetail := fmt.Sprintf(`{"added":%d,"conflicts":0,"duplicates":0,"part":%d,"parts":2,"submitter":"org-3"}`, len(big), i+1)
		if r.Kind != audit.Receipt || string(r.Detail) != wantDetail {
			t.Fatalf("part %d of a large receipt: %+v", i+1, r.Entry)
		}
		listed = append(listed, r.Objects...)
	}
	if len(tail[1].Objects) != audit.MaxObjects || len(listed) != len(big) || listed[len(big)-1].ID != big[len(big)-1].ID {
		t.Fatalf("large receipt lists %d + %d versions, want %d in all", len(tail[1].Objects), len(tail[2].Objects), len(big))
	}
	mustIntact(t, s)
}

// testAuditAdminActions: account, collection, grant and delete actions are
// recorded with the actor of the context, and never with a token's hash.
func testAuditAdminActions(t *testing.T, s store.Store) {
	actx := store.WithActor(ctx(t), "node:cli")
	col := NewUUID()
	org := NewUUID()
	uid := NewUUID()
	hash := bytes.Repeat([]byte{0xab}, 32)
	obj := Indicator(t, 1, t1)
	steps := []struct {
		subject, action string
		run             func() error
	}{
		{"collection:" + col, "create-collection", func() error {
			return s.CreateCollection(actx, store.Collection{ID: col, Alias: "shared", Title: "Shared", CreatedAt: now()})
		}},
		{"org:" + org, "put-organisation", func() error {
			return s.PutOrganisation(actx, store.Organisation{ID: org, Name: "CERT-X", Nation: "JP", Kind: store.KindAgency})
		}},
		{"user:" + uid, "create-user", func() error {
			return s.CreateUser(actx, store.User{ID: uid, Name: "carol", Org: org, Role: store.RoleAdmin, CreatedAt: now()})
		}},
		{"token:tok-1", "create-token", func() error {
			return s.CreateToken(actx, store.Token{ID: "tok-1", User: uid, Hash: hash, CreatedAt: now()})
		}},
		{"token:tok-1", "revoke-token", func() error { return s.RevokeToken(actx, "tok-1", now()) }},
		{"user:" + uid, "disable-user", func() error { return s.DisableUser(actx, uid, now()) }},
		{"collection:" + col, "put-grant", func() error {
			return s.PutGrant(actx, store.Grant{Collection: col, Subject: org, Read: true})
		}},
		{"collection:" + col, "delete-object", func() error { // many versions asked for: a few listed
			exact := make([]stix.Timestamp, 1000)
			for i := range exact {
				exact[i], _ = stix.ParseTimestamp(time.Unix(int64(i), 0).UTC().Format(time.RFC3339))
			}
			_, err := s.Delete(actx, col, NewID("indicator"), store.VersionFilter{Exact: exact}, nil)
			return err
		}},
		{"collection:" + col, "delete-object", func() error {
			put(t, s, col, "org-1", obj)
			n, err := s.Delete(actx, "shared", obj.ID, store.VersionFilter{All: true}, nil)
			if err == nil && n != 1 {
				err = fmt.Errorf("deleted %d, want 1", n)
			}
			return err
		}},
	}
	for _, st := range steps {
		before := lastSeq(t, s)
		if err := st.run(); err != nil {
			t.Fatalf("%s: %v", st.action, err)
		}
		trail := AuditTrail(t, s)
		if len(trail) == 0 {
			t.Fatalf("%s: no audit record", st.action)
		}
		r := trail[len(trail)-1]
		var d map[string]any
		if err := json.Unmarshal(r.Detail, &d); err != nil {
			t.Fatalf("%s: detail %s: %v", st.action, r.Detail, err)
		}
		if r.Seq <= before || r.Kind != audit.AdminAction || r.Actor != "node:cli" || r.Subject != st.subject || d["action"] != st.action {
			t.Fatalf("%s: last record %d %+v, want an admin action by node:cli on %s", st.action, r.Seq, r.Entry, st.subject)
		}
		if st.action == "delete-object" && d["object"] != obj.ID && d["versions_unlisted"] != float64(980) {
			t.Fatalf("delete record of many versions: %s", r.Detail)
		}
		if st.action == "delete-object" && d["object"] == obj.ID && d["removed"] != float64(1) {
			t.Fatalf("delete record: %s", r.Detail)
		}
	}
	for _, r := range AuditTrail(t, s) {
		for _, enc := range []string{fmt.Sprintf("%x", hash), string(hash), "q6urq6urq6ur"} { // hex, raw, base64
			if strings.Contains(string(r.Detail), enc) {
				t.Fatalf("record %d holds the token hash: %s", r.Seq, r.Detail)
			}
		}
	}
	mustIntact(t, s)
}

// Tamper runs SQL statements in one transaction against the database of a store,
// as someone with write access would. With bypass it first sets aside the store's
// append-only guards (triggers), as an attacker who owns the tables can.
type Tamper func(t *testing.T, s store.Store, stmts []string, bypass bool) error

// RunAuditTamper checks that raw changes to a store's audit tables are found by
// audit.Verify at the right seq. The statements are SQL that both engines run.
func RunAuditTamper(t *testing.T, open func(t *testing.T) store.Store, tamper Tamper) {
	t.Helper()
	const n = 12
	cases := []struct {
		name string
		sql  []string
		kind audit.ProblemKind
		seq  int64
	}{
		{"edit a column", []string{`UPDATE audit_records SET actor = 'user:mallory' WHERE seq = 5`}, audit.Edited, 5},
		{"edit the detail", []string{`UPDATE audit_records SET detail = '{"page":1}' WHERE seq = 6`}, audit.Edited, 6},
		{"edit the time", []string{`UPDATE audit_records SET time_us = time_us - 1000000 WHERE seq = 9`}, audit.Edited, 9},
		{"delete a row", []string{`DELETE FROM audit_records WHERE seq = 7`}, audit.Missing, 7},
		{"swap two rows", []string{
			`UPDATE audit_records SET seq = -1 WHERE seq = 3`,
			`UPDATE audit_records SET seq = 3 WHERE seq = 4`,
			`UPDATE audit_records SET seq = 4 WHERE seq = -1`,
		}, audit.Reordered, 3},
		{"cut the tail", []string{`DELETE FROM audit_records WHERE seq > 10`}, audit.Truncated, 11},
		{"alter a checkpoint", []string{`UPDATE audit_checkpoints SET time_us = time_us + 1`}, audit.BadSignature, n},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			defer s.Close()
			for i := range n {
				e := audit.Entry{Kind: audit.Disclosure, Time: time.Now(), Actor: "peer:jp", Subject: "collection:shared",
					Rule: "agreement:jp", Objects: []audit.ObjectRef{{ID: NewID("indicator"), Version: t1}},
					Detail: json.RawMessage(fmt.Sprintf(`{"page":%d}`, i+1))}
				if err := s.AppendAudit(ctx(t), e); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.SignAuditCheckpoint(ctx(t)); err != nil {
				t.Fatal(err)
			}
			mustIntact(t, s)
			// The guards refuse the change unless set aside.
			if err := tamper(t, s, tc.sql, false); err == nil {
				t.Fatalf("%s: the append-only guard let it through", tc.sql)
			}
			mustIntact(t, s)
			if err := tamper(t, s, tc.sql, true); err != nil {
				t.Fatalf("%s: %v", tc.sql, err)
			}
			rep := VerifyAudit(t, s)
			first, ok := rep.First()
			if !ok || first.Kind != tc.kind || first.Seq != tc.seq || rep.Total != 1 {
				t.Fatalf("report %s\nproblems %v\nwant one %s at seq %d", rep, rep.Problems, tc.kind, tc.seq)
			}
		})
	}
}

// AppendConcurrently appends from many goroutines spread over stores that share
// one database (processes of one node) and checks that the trail holds every
// record once, gap-free, with a verified checkpoint every audit.CheckpointEvery.
func AppendConcurrently(t *testing.T, stores ...store.Store) {
	t.Helper()
	const goroutines, calls = 24, 50
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := stores[g%len(stores)]
			for c := range calls {
				e := audit.Entry{Kind: audit.AuthEvent, Time: time.Now(), Actor: fmt.Sprintf("user:%d-%d", g, c)}
				if err := s.AppendAudit(ctx(t), e); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("append: %v", err)
	}
	trail := AuditTrail(t, stores[0])
	if len(trail) != goroutines*calls {
		t.Fatalf("%d records, want %d", len(trail), goroutines*calls)
	}
	seen := make(map[string]bool)
	for i, r := range trail {
		if r.Seq != int64(i+1) || seen[r.Actor] {
			t.Fatalf("record %d: seq %d, actor %s (seen before: %v)", i+1, r.Seq, r.Actor, seen[r.Actor])
		}
		seen[r.Actor] = true
	}
	rep := mustIntact(t, stores[len(stores)-1])
	if want := int64(len(trail)) / audit.CheckpointEvery; rep.Verified != want || want == 0 {
		t.Fatalf("report %s: want %d verified checkpoints", rep, want)
	}
}

// testAuditLookups checks the two indexed reads of the trail: the disclosures
// naming one object, newest first, and the tally of actors' records since a time.
func testAuditLookups(t *testing.T, s store.Store) {
	a, b := NewID("indicator"), NewID("malware")
	at := time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC)
	v := "2026-11-20T10:00:00.000Z"
	// The objects are stored, as every object the gate discloses is.
	col := newCollection(t, s)
	putAdded(t, s, col, "",
		Obj(t, a, "indicator", t1, t1, "name", "a", "pattern", "[ipv4-addr:value = '198.51.100.7']", "pattern_type", "stix", "valid_from", "2024-01-01T00:00:00Z"),
		Obj(t, a, "indicator", t1, t2, "name", "a2", "pattern", "[ipv4-addr:value = '198.51.100.7']", "pattern_type", "stix", "valid_from", "2024-01-01T00:00:00Z"),
		Obj(t, b, "malware", t1, t1, "name", "b", "is_family", true))
	entries := []audit.Entry{
		{Kind: audit.Disclosure, Time: at, Actor: "peer:JP", Subject: "collection:c1", Rule: "agreement:jp/1",
			Objects: []audit.ObjectRef{{ID: a, Version: v}, {ID: b, Version: v}}},
		// a receipt names a too, but it is no disclosure
		{Kind: audit.Receipt, Time: at.Add(time.Hour), Actor: "peer:jp-node", Subject: "collection:c1",
			Objects: []audit.ObjectRef{{ID: a, Version: v}, {ID: NewID("tool"), Version: v}}},
		{Kind: audit.Disclosure, Time: at.Add(2 * time.Hour), Actor: "user:alice", Subject: "collection:c1", Rule: "own-agency",
			Objects: []audit.ObjectRef{{ID: b, Version: v}}},
		// two versions of a in one record: listed once
		{Kind: audit.Disclosure, Time: at.Add(3 * time.Hour), Actor: "peer:JP:u1", Subject: "collection:c1", Rule: "redacted",
			Objects: []audit.ObjectRef{{ID: a, Version: v}, {ID: a, Version: "2026-11-21T10:00:00.000Z"}}},
		{Kind: audit.AuthEvent, Time: at.Add(4 * time.Hour), Actor: "peer:JP"},
	}
	if err := s.AppendAudit(ctx(t), entries...); err != nil {
		t.Fatalf("append: %v", err)
	}
	seqs := func(recs []audit.Record) []int64 {
		var out []int64
		for _, r := range recs {
			out = append(out, r.Seq)
		}
		return out
	}
	first := lastSeq(t, s) - int64(len(entries)) + 1
	for _, tc := range []struct {
		id    string
		limit int
		want  []int64
	}{
		{a, 10, []int64{first + 3, first}},
		{b, 10, []int64{first + 2, first}},
		{b, 1, []int64{first + 2}},
		{NewID("tool"), 10, nil},
	} {
		got, err := s.AuditDisclosures(ctx(t), tc.id, tc.limit)
		if err != nil {
			t.Fatalf("disclosures of %s: %v", tc.id, err)
		}
		if !slices.Equal(seqs(got), tc.want) {
			t.Errorf("disclosures of %s (limit %d): seqs %v, want %v", tc.id, tc.limit, seqs(got), tc.want)
		}
		for _, r := range got {
			if r.Kind != audit.Disclosure || !slices.ContainsFunc(r.Objects, func(o audit.ObjectRef) bool { return o.ID == tc.id }) {
				t.Errorf("disclosures of %s: record %d is %s of %v", tc.id, r.Seq, r.Kind, r.Objects)
			}
		}
	}
	if got, err := s.AuditDisclosures(ctx(t), a, 10); err == nil && len(got) > 0 && (got[0].Actor != "peer:JP:u1" || got[0].Rule != "redacted" || len(got[0].Objects) != 2) {
		t.Errorf("newest disclosure of a read back as %+v", got[0])
	}
	// Deleting the first stored version of a forgets none of its disclosures.
	if n, err := s.Delete(ctx(t), col, a, store.VersionFilter{Exact: []stix.Timestamp{ts(t, t1)}}, nil); err != nil || n != 1 {
		t.Fatalf("delete the first version of a: %d, %v", n, err)
	}
	if got, err := s.AuditDisclosures(ctx(t), a, 10); err != nil || !slices.Equal(seqs(got), []int64{first + 3, first}) {
		t.Errorf("disclosures of a after deleting its first version: seqs %v, %v", seqs(got), err)
	}
	// Disclosures recorded after the lists above come first, and a limit
	// reaches across what was recorded before and after.
	if err := s.AppendAudit(ctx(t), audit.Entry{Kind: audit.Disclosure, Time: at.Add(5 * time.Hour), Actor: "peer:IN", Subject: "collection:c1",
		Rule: "agreement:in/1", Objects: []audit.ObjectRef{{ID: b, Version: v}, {ID: a, Version: v}}}); err != nil {
		t.Fatalf("append: %v", err)
	}
	later := lastSeq(t, s)
	for _, tc := range []struct {
		id    string
		limit int
		want  []int64
	}{
		{a, 2, []int64{later, first + 3}},
		{a, 10, []int64{later, first + 3, first}},
		{b, 10, []int64{later, first + 2, first}},
	} {
		if got, err := s.AuditDisclosures(ctx(t), tc.id, tc.limit); err != nil || !slices.Equal(seqs(got), tc.want) {
			t.Errorf("later disclosures of %s (limit %d): seqs %v, want %v (%v)", tc.id, tc.limit, seqs(got), tc.want, err)
		}
	}

	tally := func(actors []string, since time.Time) map[string][2]int64 {
		t.Helper()
		cs, err := s.AuditTally(ctx(t), actors, since)
		if err != nil {
			t.Fatalf("tally %v: %v", actors, err)
		}
		m := map[string][2]int64{}
		for _, c := range cs {
			m[string(c.Kind)+"/"+c.Rule] = [2]int64{c.Records, c.Objects}
		}
		return m
	}
	got := tally([]string{"peer:JP", "peer:JP:u1", "peer:jp-node"}, at)
	want := map[string][2]int64{"disclosure/agreement:jp/1": {1, 2}, "disclosure/redacted": {1, 2}, "receipt/": {1, 2}, "auth-event/": {1, 0}}
	if !maps.Equal(got, want) {
		t.Errorf("tally since the start: %v, want %v", got, want)
	}
	got = tally([]string{"peer:JP", "peer:jp-node"}, at.Add(time.Hour))
	want = map[string][2]int64{"receipt/": {1, 2}, "auth-event/": {1, 0}}
	if !maps.Equal(got, want) {
		t.Errorf("tally since an hour later: %v, want %v", got, want)
	}
	if got := tally([]string{"peer:XX"}, at); len(got) != 0 {
		t.Errorf("tally of an actor without records: %v", got)
	}
	if got := tally(nil, at); len(got) != 0 {
		t.Errorf("tally of no actors: %v", got)
	}
	if _, err := s.AuditTally(ctx(t), make([]string, store.MaxTallyActors+1), at); err == nil {
		t.Errorf("a tally of %d actors was accepted", store.MaxTallyActors+1)
	}
}
