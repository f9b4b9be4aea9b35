package sqlite

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"quadshare/internal/audit"
	"quadshare/internal/cputime"
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
	{ID: "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", Version: "2024-01-01T24:00:00.000Z"},
	{ID: "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", Version: "2024-01-01T00:00:60.000Z"},
	{ID: "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", Version: "2024-01-01T00:00:00.00aZ"},
	{ID: "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", Version: "2024-01-01 00:00:00.000Z"},
	{ID: "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", Version: "2024-01-01T00:00:00.000z"},
	{ID: "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", Version: "2028-02-29T00:00:00.000Z"},
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
			c0 := cputime.Process()
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
			b.ReportMetric(float64((cputime.Process()-c0).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}

// TestTrailIndexRebuilt finds the disclosures of the trail, and counts them,
// through indexes rebuilt from the first record: after an upgrade from before
// the trail file (version 21 on, migrated again), when the trail file is lost,
// when it is ahead of the trail (a backup of the database restored beside a
// later trail file), and when the trail went another way (another copy of the
// database put in its place), where keeping it would claim disclosures the
// trail does not hold. A record whose objects column cannot be read is skipped
// by the index, not an error.
func TestTrailIndexRebuilt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.db")
	s := openPath(t, path)
	id := storetest.NewID("malware")
	col := mustCollection(t, s)
	if _, err := s.Put(t.Context(), col, "", []stix.Object{storetest.Obj(t, id, "malware", "2024-01-01T00:00:00.000Z", "2024-01-01T00:00:00.000Z", "name", "m", "is_family", true)}); err != nil {
		t.Fatal(err)
	}
	disclose := func(s *Store) {
		t.Helper()
		if err := s.AppendAudit(t.Context(),
			audit.Entry{Kind: audit.Disclosure, Time: time.Now(), Actor: "peer:JP", Rule: "r", Objects: []audit.ObjectRef{{ID: id, Version: "v1"}, {ID: id, Version: "v2"}}},
			audit.Entry{Kind: audit.Receipt, Time: time.Now(), Actor: "peer:jp", Objects: []audit.ObjectRef{{ID: id, Version: "v1"}}},
		); err != nil {
			t.Fatal(err)
		}
	}
	check := func(s *Store, when string, n int64) {
		t.Helper()
		recs, err := s.AuditDisclosures(t.Context(), id, 10)
		if err != nil || int64(len(recs)) != n || recs[0].Kind != audit.Disclosure || len(recs[0].Objects) != 2 {
			t.Fatalf("disclosures %s: %+v, %v; want %d", when, recs, err, n)
		}
		tally, err := s.AuditTally(t.Context(), []string{"peer:JP", "peer:jp"}, time.Now().Add(-time.Hour))
		want := []store.AuditCount{{Kind: audit.Disclosure, Rule: "r", Records: n, Objects: 2 * n}, {Kind: audit.Receipt, Records: n, Objects: n}}
		if err != nil || !slices.Equal(tally, want) {
			t.Fatalf("tally %s: %+v, %v; want %+v", when, tally, err, want)
		}
	}
	disclose(s)
	check(s, "indexed", 1)
	s = reopen(t, s, path, append([]string{`INSERT INTO audit_records (seq, prev, hash, kind, time_us, actor, subject, rule, objects, detail)
		VALUES (1000, x'', x'', 'disclosure', 0, 'peer:JP', '', 'r', '~not refs', '')`,
		`DELETE FROM schema_migrations WHERE version >= 21`}, downgradeObjectIDs...)...)
	check(s, "after the migrations", 1)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	first, err := sql.Open("sqlite", path+trailSuffix) // the trail file as it was first laid out
	if err != nil {
		t.Fatal(err)
	}
	if _, err := first.Exec(`ALTER TABLE audit_indexed_upto DROP COLUMN hash; PRAGMA user_version = 0`); err != nil {
		t.Fatal(err)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	s = openPath(t, path)
	check(s, "with a trail file of the first layout", 1)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	removeTrailFile(t, path)
	backup := path + ".backup"
	copyFile(t, path, backup)
	s = openPath(t, path)
	check(s, "with the trail file lost", 1)
	disclose(s)
	check(s, "after another disclosure", 2)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	copyFile(t, backup, path)
	s = openPath(t, path)
	check(s, "with the backup restored", 1)

	// A copy whose trail went another way from here, and reaches further than the
	// trail the file indexed.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	fork := filepath.Join(t.TempDir(), "fork.db")
	copyFile(t, path, fork)
	s = openPath(t, path)
	disclose(s)
	disclose(s)
	check(s, "before the copy", 3)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	f := openPath(t, fork)
	for range 6 {
		if err := f.AppendAudit(t.Context(), audit.Entry{Kind: audit.Receipt, Time: time.Now(), Actor: "peer:US",
			Objects: []audit.ObjectRef{{ID: storetest.NewID("tool"), Version: "v1"}}}); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	copyFile(t, fork, path)
	s = openPath(t, path)
	defer s.Close()
	check(s, "with a copy of another history", 1)
}

// removeTrailFile removes the trail file of the database at path, which is closed.
func removeTrailFile(t *testing.T, path string) {
	t.Helper()
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(path + trailSuffix + suffix); err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestTrailIndexLeavesWriterFree indexes the trail while another connection
// holds the database's write lock: the index is written through a file of its
// own, so that a long pass never stalls a Put or a read through the gate.
func TestTrailIndexLeavesWriterFree(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.db")
	s := openPath(t, path)
	defer s.Close()
	id := storetest.NewID("malware")
	if err := s.AppendAudit(t.Context(), audit.Entry{Kind: audit.Disclosure, Time: time.Now(), Actor: "peer:JP", Rule: "r",
		Objects: []audit.ObjectRef{{ID: id, Version: "v1"}}}); err != nil {
		t.Fatal(err)
	}
	other, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(t.Context(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	defer conn.ExecContext(context.Background(), "ROLLBACK")
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	recs, err := s.AuditDisclosures(ctx, id, 10)
	if err != nil || len(recs) != 1 {
		t.Fatalf("disclosures while the database's writer is taken: %+v, %v", recs, err)
	}
}

// TestDisclosuresNotedAndRead finds, through the index, disclosures of which
// the pass was told as they were appended, disclosures whose notes were lost
// (read back from the trail) and records appended by another process under
// seqs that this one noted for a transaction rolled back, interleaved, one of
// them naming an object twice; it lists each once and counts each once.
func TestDisclosuresNotedAndRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.db")
	s := openPath(t, path)
	defer s.Close()
	other, err := Open(t.Context(), path) // another process on the same file
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	a, b, c := storetest.NewID("indicator"), storetest.NewID("malware"), storetest.NewID("tool")
	disclosure := func(ids ...string) audit.Entry {
		e := audit.Entry{Kind: audit.Disclosure, Time: time.Now(), Actor: "peer:JP", Rule: "r"}
		for _, id := range ids {
			e.Objects = append(e.Objects, audit.ObjectRef{ID: id, Version: "2026-01-01T00:00:00.000Z"})
		}
		return e
	}
	var want []int64 // the seqs naming a, oldest first
	var records, objects int64
	appendAll := func(s *Store, es ...audit.Entry) {
		t.Helper()
		if err := s.AppendAudit(t.Context(), es...); err != nil {
			t.Fatal(err)
		}
		head, err := s.head(nil)
		if err != nil {
			t.Fatal(err)
		}
		for i, e := range es {
			records++
			objects += int64(len(e.Objects))
			if slices.ContainsFunc(e.Objects, func(o audit.ObjectRef) bool { return o.ID == a }) {
				want = append(want, head.Seq-int64(len(es)-1-i))
			}
		}
	}
	// No pass runs until the lookups, and only this process's, so that one
	// step finds records to read back before and after a noted one that names
	// the same object twice.
	s.ti.mu.Lock()
	other.ti.mu.Lock()
	defer other.ti.mu.Unlock()
	appendAll(s, disclosure(a, b))
	many := make([]audit.Entry, maxInsertAfter+1) // appended in a transaction of their own
	for i := range many {
		many[i] = disclosure(b)
	}
	many[3], many[7] = disclosure(a), disclosure(b, a)
	appendAll(s, many...)
	s.ti.nmu.Lock()
	s.ti.notes = notes{} // as after a restart: these are read back
	s.ti.nmu.Unlock()
	appendAll(s, disclosure(a, b, a))
	// Noted, then rolled back: the seqs go to the records that the other
	// process appends next, of which this one has no notes.
	tx, err := s.w.Begin()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.appendAudit(tx, []audit.Entry{disclosure(c, a), disclosure(c)}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	appendAll(other, disclosure(b), disclosure(a))
	s.ti.mu.Unlock()
	slices.Reverse(want)
	for round := range 2 { // the second time, from the index alone
		recs, err := s.AuditDisclosures(t.Context(), a, 50)
		if err != nil {
			t.Fatal(err)
		}
		var got []int64
		for _, r := range recs {
			got = append(got, r.Seq)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("round %d: disclosures of a: %v, want %v", round, got, want)
		}
		if recs, err := s.AuditDisclosures(t.Context(), a, 2); err != nil || len(recs) != 2 || recs[0].Seq != want[0] || recs[1].Seq != want[1] {
			t.Fatalf("round %d: the newest two disclosures of a: %v, want seqs %v", round, recs, want[:2])
		}
	}
	if recs, err := s.AuditDisclosures(t.Context(), c, 50); err != nil || len(recs) != 0 {
		t.Errorf("disclosures of c, rolled back: %d, %v", len(recs), err)
	}
	tally, err := s.AuditTally(t.Context(), []string{"peer:JP"}, time.Now().Add(-time.Hour))
	if wantTally := []store.AuditCount{{Kind: audit.Disclosure, Rule: "r", Records: records, Objects: objects}}; err != nil || !slices.Equal(tally, wantTally) {
		t.Errorf("tally: %+v, %v; want %+v", tally, err, wantTally)
	}
}

// TestRunsRoundTrip encodes random runs as the index stores them and reads them
// back newest first, whole and cut at a limit; a malformed step ends a run.
func TestRunsRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 10000 {
		var run []keySeq
		seq := int64(1 + rng.IntN(1000))
		for range 1 + rng.IntN(20) {
			run = append(run, keySeq{seq: seq})
			seq += int64(1 + rng.IntN(1<<uint(rng.IntN(40))))
		}
		last, steps := run[len(run)-1].seq, appendSteps(nil, run)
		var want []int64
		for _, r := range slices.Backward(run) {
			want = append(want, r.seq)
		}
		if got := decodeRun(nil, last, steps, 1000); !slices.Equal(got, want) {
			t.Fatalf("run %v: %v, want %v", run, got, want)
		}
		if limit := 1 + rng.IntN(len(want)); !slices.Equal(decodeRun(nil, last, steps, limit), want[:limit]) {
			t.Fatalf("run %v cut at %d: %v", run, limit, decodeRun(nil, last, steps, limit))
		}
	}
	// A step of zero, one past the first record, or cut short ends the run there.
	for _, steps := range [][]byte{{0}, {10}, {0x80}} {
		if got := decodeRun(nil, 10, steps, 5); !slices.Equal(got, []int64{10}) {
			t.Errorf("steps %x: %v", steps, got)
		}
	}
}

// TestTrailIndexWaitBounded: a reader of the trail's indexes waits for a pass
// already running (as after an upgrade rebuilds them) only until its context
// ends.
func TestTrailIndexWaitBounded(t *testing.T) {
	s := openTemp(t)
	defer s.Close()
	if err := s.AppendAudit(t.Context(), audit.Entry{Kind: audit.Disclosure, Time: time.Now(), Actor: "peer:JP", Rule: "r",
		Objects: []audit.ObjectRef{{ID: storetest.NewID("tool"), Version: "2026-01-01T00:00:00.000Z"}}}); err != nil {
		t.Fatal(err)
	}
	s.ti.mu.Lock() // a long pass
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := s.AuditTally(ctx, []string{"peer:JP"}, time.Now().Add(-time.Hour))
	s.ti.mu.Unlock()
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Fatalf("tally while a pass runs: %v after %v", err, time.Since(start))
	}
	if got, err := s.AuditTally(t.Context(), []string{"peer:JP"}, time.Now().Add(-time.Hour)); err != nil || len(got) != 1 {
		t.Fatalf("tally after the pass: %v, %v", got, err)
	}
}

// TestTrailStepCancelled: a step of the trail index whose context ends at any
// point leaves the index as it was or as it would be after the step: the next
// pass completes it, and every disclosure is found, once.
func TestTrailStepCancelled(t *testing.T) {
	const records, per = 10, 1000
	refs := make([]audit.ObjectRef, per)
	for i := range refs {
		refs[i] = audit.ObjectRef{ID: storetest.NewID("indicator"), Version: "2026-01-01T00:00:00.000Z"}
	}
	for _, delay := range []time.Duration{0, time.Millisecond, 3 * time.Millisecond, 6 * time.Millisecond,
		10 * time.Millisecond, 15 * time.Millisecond, 20 * time.Millisecond, 30 * time.Millisecond, 50 * time.Millisecond} {
		s := openTemp(t)
		s.ti.mu.Lock() // no pass but the one below, until the lookups
		for range records {
			if err := s.AppendAudit(t.Context(), audit.Entry{Kind: audit.Disclosure, Time: time.Now(), Actor: "peer:JP", Rule: "r", Objects: refs}); err != nil {
				t.Fatal(err)
			}
		}
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(delay, cancel)
		_, err := s.ti.step(ctx)
		cancel()
		s.ti.mu.Unlock()
		for _, r := range []audit.ObjectRef{refs[0], refs[per/2], refs[per-1]} {
			if recs, lerr := s.AuditDisclosures(t.Context(), r.ID, 50); lerr != nil || len(recs) != records {
				t.Errorf("step cancelled after %v (%v): %d disclosures of %s, %v; want %d", delay, err, len(recs), r.ID, lerr, records)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
