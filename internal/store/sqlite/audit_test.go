package sqlite

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"quadshare/internal/audit"
	"quadshare/internal/stix"
	"quadshare/internal/store"
	"quadshare/internal/store/storetest"
)

func TestAuditTamper(t *testing.T) {
	storetest.RunAuditTamper(t, func(t *testing.T) store.Store { return openTemp(t, WithAuditKey(storetest.AuditKey)) },
		func(t *testing.T, st store.Store, stmts []string, bypass bool) error {
			s := st.(*Store)
			tx, err := s.w.BeginTx(t.Context(), nil)
			if err != nil {
				return err
			}
			defer func() { _ = tx.Rollback() }()
			if bypass { // SQLite cannot disable a trigger: drop them, in the same transaction
				for _, tr := range []string{"audit_records_no_update", "audit_records_no_delete",
					"audit_checkpoints_no_update", "audit_checkpoints_no_delete"} {
					if _, err := tx.Exec("DROP TRIGGER " + tr); err != nil {
						return err
					}
				}
			}
			for _, q := range stmts {
				if _, err := tx.Exec(q); err != nil {
					return err
				}
			}
			return tx.Commit()
		})
}

// TestAuditObjectsColumn: a damaged objects column reads as an edited record.
func TestAuditObjectsColumn(t *testing.T) {
	s := openTemp(t, WithAuditKey(storetest.AuditKey))
	defer s.Close()
	col := mustCollection(t, s)
	if _, err := s.Put(t.Context(), col, "org-1", benchObjects(t, 0, 3)); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"DROP TRIGGER audit_records_no_update",
		`UPDATE audit_records SET objects = 'not json' WHERE seq = 2`} {
		if _, err := s.w.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	rep := storetest.VerifyAudit(t, s)
	if p, ok := rep.First(); !ok || p.Seq != 2 || rep.Total != 1 {
		t.Fatalf("report %s, problems %v; want record 2 edited", rep, rep.Problems)
	}
}

// TestAppendAuditAfterOtherWriters: AppendAudit chains after the last record it
// appended itself until another write moves the end of the trail: a Put of this
// store, or another process on the same file. Every append must then land after
// the true end, the trail verify, and a checkpoint be signed when one is due.
func TestAppendAuditAfterOtherWriters(t *testing.T) {
	s := openTemp(t, WithAuditKey(storetest.AuditKey))
	defer s.Close()
	ctx := t.Context()
	col := mustCollection(t, s)
	other, err := Open(ctx, s.path, WithAuditKey(storetest.AuditKey)) // another process
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	page := func(n int) audit.Entry {
		return audit.Entry{Kind: audit.Disclosure, Time: s.now(), Actor: "user:u", Subject: "collection:" + col,
			Rule: "allow", Objects: []audit.ObjectRef{{ID: fmt.Sprintf("indicator--%d", n), Version: "v"}}}
	}
	want := []string{"create-collection"}
	step := func(name string, fn func() error) {
		t.Helper()
		if err := fn(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want = append(want, name)
	}
	step("indicator--1", func() error { return s.AppendAudit(ctx, page(1)) })
	step("indicator--2", func() error { return s.AppendAudit(ctx, page(2)) })
	step("receipt", func() error { _, err := s.Put(ctx, col, "org-1", benchObjects(t, 0, 1)); return err })
	step("indicator--3", func() error { return s.AppendAudit(ctx, page(3)) })
	step("indicator--4", func() error { return other.AppendAudit(ctx, page(4)) })
	step("indicator--5", func() error { return s.AppendAudit(ctx, page(5)) })
	step("indicator--6", func() error { return other.AppendAudit(ctx, page(6)) })
	step("indicator--7", func() error { return other.AppendAudit(ctx, page(7)) })
	step("indicator--8", func() error { return s.AppendAudit(ctx, page(8), page(9)) })
	want = append(want, "indicator--9")
	var got []string
	for _, r := range storetest.AuditTrail(t, s) {
		switch {
		case r.Kind == audit.Receipt:
			got = append(got, "receipt")
		case len(r.Objects) > 0:
			got = append(got, r.Objects[0].ID)
		default:
			got = append(got, "create-collection")
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("trail %v\nwant  %v", got, want)
	}
	// Up to and past a checkpoint, signed in the transaction of its record.
	for i := len(want); i < audit.CheckpointEvery+5; i++ {
		if err := s.AppendAudit(ctx, page(i)); err != nil {
			t.Fatal(err)
		}
	}
	rep := storetest.VerifyAudit(t, s)
	if !rep.OK() || rep.Records != audit.CheckpointEvery+5 || rep.Checkpoints != 1 || rep.Verified != 1 {
		t.Fatalf("report %s, problems %v", rep, rep.Problems)
	}
}

// TestAuditWithoutKey: records are chained, no checkpoint is signed.
func TestAuditWithoutKey(t *testing.T) {
	s := openTemp(t)
	defer s.Close()
	mustCollection(t, s)
	if err := s.SignAuditCheckpoint(t.Context()); err == nil {
		t.Fatal("checkpoint signed without a key")
	}
	rep := storetest.VerifyAudit(t, s)
	if !rep.OK() || rep.Records != 1 || rep.Checkpoints != 0 {
		t.Fatalf("report %s", rep)
	}
	if _, err := Open(context.Background(), s.path+"2", WithAuditKey(ed25519.PrivateKey("short"))); err == nil {
		t.Fatal("opened with a key of the wrong size")
	}
}

// refCases are object references of every shape the objects column must keep
// exactly: ids with and without a canonical UUID, versions in and out of the
// millisecond form, repeats, and text that needs escaping in JSON.
var refCases = []audit.ObjectRef{
	{ID: "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", Version: "2024-01-01T00:00:00.000Z"},
	{ID: "indicator--0a000000-0000-4000-8000-00000000000f", Version: "2024-01-01T00:00:00.000Z"},
	{ID: "attack-pattern--0a000000-0000-4000-8000-00000000000f", Version: "2024-01-01T00:00:00.001Z"},
	{ID: "indicator--8E2E2D2B-17d4-4cbf-938f-98ee46b3cd3f", Version: "2024-01-01T00:00:00Z"},
	{ID: "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3", Version: "2024-01-01T00:00:00.123456Z"},
	{ID: "x--y--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", Version: "2024-02-30T00:00:00.000Z"},
	{ID: "--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", Version: "0969-01-01T00:00:00.000Z"},
	{ID: "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", Version: "1969-12-31T23:59:59.999Z"},
	{ID: "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", Version: "9999-12-31T23:59:59.999Z"},
	{ID: "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", Version: "1970-01-01T00:00:00.000Z"},
	{ID: `indicator--"quoted"\back\slash`, Version: "2024-01-01T00:00:00.000Z"},
	{ID: "x-ünïcode--✓", Version: ""},
	{ID: "ctl\x01\x1f", Version: "v"},
	{ID: "12:34", Version: "=@'~"},
	{ID: "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", Version: ""},
	{ID: "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", Version: ""},
}

func TestEncodeRefsRoundTrip(t *testing.T) {
	for i := range refCases {
		for j := i + 1; j <= len(refCases); j++ {
			refs := refCases[i:j]
			enc := encodeRefs(refs)
			if got := decodeRefs(enc); !slices.Equal(got, refs) {
				t.Fatalf("round trip of %q\nas %q\ngives %q", refs, enc, got)
			}
		}
	}
	if encodeRefs(nil) != "" || decodeRefs("") != nil {
		t.Fatal("no objects must be the empty column")
	}
	// A page of a hundred ids of one type and their versions stays below 4 KB,
	// so that two records share a database page.
	page := make([]audit.ObjectRef, 100)
	for i := range page {
		page[i] = audit.ObjectRef{ID: fmt.Sprintf("indicator--%08x-17d4-4cbf-938f-98ee46b3cd3f", i*7919),
			Version: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * 7777 * time.Second).Format(msLayout)}
	}
	if enc := encodeRefs(page); len(enc) > 3300 || !slices.Equal(decodeRefs(enc), page) {
		t.Fatalf("a page of 100 is %d bytes: %.200s", len(enc), enc)
	}
}

// TestDecodeJSONRefs: rows written before the compact form, a JSON array of
// pairs, are read as they were written.
func TestDecodeJSONRefs(t *testing.T) {
	pairs := make([][2]string, len(refCases))
	for i, r := range refCases {
		pairs[i] = [2]string{r.ID, r.Version}
	}
	old, err := json.Marshal(pairs)
	if err != nil {
		t.Fatal(err)
	}
	if got := decodeRefs(string(old)); !slices.Equal(got, refCases) {
		t.Fatalf("JSON column %s read as %q", old, got)
	}
}

// TestDecodeRefsDamaged: a column that is not what encodeRefs writes reads as
// unreadable, whatever was changed, so that Verify reports the record.
func TestDecodeRefsDamaged(t *testing.T) {
	good := encodeRefs(refCases)
	for _, bad := range []string{"~", "~=" + good[2:], "not json", "[]", "~+9:indicator", "~'5:ab", "~'2:ab",
		"~'2:ab=", "~'02:ab@", good + "=", good[:len(good)-1], "~+9:indicator" + strings.Repeat("A", 22) + "@AAA"} {
		if got := decodeRefs(bad); !slices.Equal(got, unreadable) {
			t.Errorf("decodeRefs(%q) = %q, want unreadable", bad, got)
		}
	}
}

// FuzzRefs: any references come back exactly; any column decodes without panic.
func FuzzRefs(f *testing.F) {
	f.Add("indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "2024-01-01T00:00:00.000Z", "x--y", "2024-01-01T00:00:00Z")
	f.Add("", "", "~", "=")
	f.Fuzz(func(t *testing.T, id1, v1, id2, v2 string) {
		refs := []audit.ObjectRef{{ID: id1, Version: v1}, {ID: id2, Version: v2}, {ID: id2, Version: v1}, {ID: id1, Version: v1}}
		if got := decodeRefs(encodeRefs(refs)); !slices.Equal(got, refs) {
			t.Fatalf("round trip of %q gives %q", refs, got)
		}
		for _, col := range []string{id1, "~" + id1 + v1, encodeRefs(refs)[:len(id2)%len(encodeRefs(refs))]} {
			decodeRefs(col)
		}
	})
}

// BenchmarkReceipt measures what the audit receipt adds to a Put: building the
// entry, chaining it and writing it in the Put's transaction, for Puts that add
// 1, 10, 100 and 1000 objects. Compare with BenchmarkPut and BenchmarkPutSmall.
func BenchmarkReceipt(b *testing.B) {
	for _, n := range []int{0, 1, 10, 100, 1000} { // 0: the transaction alone, to subtract
		b.Run(fmt.Sprintf("objects=%d", n), func(b *testing.B) {
			s := openTemp(b, WithAuditKey(storetest.AuditKey))
			defer s.Close()
			col := mustCollection(b, s)
			cid, err := collectionID(b.Context(), s.r, col)
			if err != nil {
				b.Fatal(err)
			}
			objs := benchObjects(b, 0, n)
			res := make([]store.PutResult, n)
			c0 := cpuTime()
			for b.Loop() {
				tx, err := s.w.BeginTx(b.Context(), nil)
				if err != nil {
					b.Fatal(err)
				}
				if n > 0 {
					if err := s.auditPut(b.Context(), tx, cid, "bench", objs, res); err != nil {
						b.Fatal(err)
					}
				}
				if err := tx.Rollback(); err != nil { // the commit is the Put's own
					b.Fatal(err)
				}
			}
			// On a shared machine wall time depends on the neighbours; CPU time less so.
			b.ReportMetric(float64((cpuTime()-c0).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}

// TestDisclosedBackfill opens a database written before migration 21 and finds
// the disclosures recorded then through the new index.
func TestDisclosedBackfill(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.db")
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	id := storetest.NewID("malware")
	col := mustCollection(t, s)
	if _, err := s.Put(t.Context(), col, "", []stix.Object{storetest.Obj(t, id, "malware", "2024-01-01T00:00:00.000Z", "2024-01-01T00:00:00.000Z", "name", "m", "is_family", true)}); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendAudit(t.Context(),
		audit.Entry{Kind: audit.Disclosure, Time: time.Now(), Actor: "peer:JP", Rule: "r", Objects: []audit.ObjectRef{{ID: id, Version: "v1"}, {ID: id, Version: "v2"}}},
		audit.Entry{Kind: audit.Receipt, Time: time.Now(), Actor: "peer:jp", Objects: []audit.ObjectRef{{ID: id, Version: "v1"}}},
	); err != nil {
		t.Fatal(err)
	}
	// Back to version 20: the index and its tables as they were not. A record
	// whose objects column cannot be read is skipped by the index, not an error.
	for _, q := range append([]string{`INSERT INTO audit_records (seq, prev, hash, kind, time_us, actor, subject, rule, objects, detail)
		VALUES (1000, x'', x'', 'disclosure', 0, 'peer:JP', '', 'r', '~not refs', '')`,
		`DROP TABLE audit_disclosed_runs`, `DROP TABLE audit_disclosed_upto`, `DROP INDEX audit_records_actor`, `DELETE FROM schema_migrations WHERE version >= 21`}, downgradeObjectIDs...) {
		if _, err := s.w.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = Open(t.Context(), path); err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s.Close()
	recs, err := s.AuditDisclosures(t.Context(), id, 10)
	if err != nil || len(recs) != 1 || recs[0].Kind != audit.Disclosure || len(recs[0].Objects) != 2 {
		t.Fatalf("disclosures after the migration: %+v, %v", recs, err)
	}
}
