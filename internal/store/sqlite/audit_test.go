package sqlite

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
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

func TestEncodeRefsRoundTrip(t *testing.T) {
	refs := []audit.ObjectRef{
		{ID: `indicator--"quoted"\back\slash`, Version: "2024-01-01T00:00:00.000Z"},
		{ID: "x-ünïcode--✓", Version: ""},
		{ID: "ctl\x01\x1f", Version: "v"},
	}
	enc := encodeRefs(refs)
	var pairs [][2]string
	if err := json.Unmarshal([]byte(enc), &pairs); err != nil {
		t.Fatalf("%s: %v", enc, err)
	}
	if got := decodeRefs(enc); !slices.Equal(got, refs) {
		t.Fatalf("round trip %s: %v", enc, got)
	}
	if encodeRefs(nil) != "" || decodeRefs("") != nil {
		t.Fatal("no objects must be the empty column")
	}
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

// FuzzDecodeRefs checks that the plain fast path of decodeRefs reads what
// encoding/json reads, and refuses what it cannot.
func FuzzDecodeRefs(f *testing.F) {
	f.Add(encodeRefs([]audit.ObjectRef{{ID: "indicator--00000000-0000-4000-8000-000000000001", Version: "2026-01-01T00:00:00.000Z"}, {ID: "malware--x", Version: "v"}}))
	f.Add(`[["a","b"]]`)
	f.Add(`[["a","b"],]`)
	f.Add(`[["a","b"]x]`)
	f.Add(`[["a"b","c"]]`)
	f.Add(`[["a","b","c"]]`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := decodePlainRefs(s)
		if !ok {
			return
		}
		var pairs [][2]string
		if err := json.Unmarshal([]byte(s), &pairs); err != nil {
			t.Fatalf("fast path read %q, which is not JSON: %v", s, err)
		}
		if len(pairs) != len(got) {
			t.Fatalf("%q: %d refs, json %d", s, len(got), len(pairs))
		}
		for i, p := range pairs {
			if got[i].ID != p[0] || got[i].Version != p[1] {
				t.Fatalf("%q: ref %d is %v, json %v", s, i, got[i], p)
			}
		}
	})
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
	// Back to version 20: the index and its table as they were not.
	// A record whose objects column is in another form (as a later writer may
	// use) is skipped by the migration, not an error.
	for _, q := range []string{`INSERT INTO audit_records (seq, prev, hash, kind, time_us, actor, subject, rule, objects, detail)
		VALUES (1000, x'', x'', 'disclosure', 0, 'peer:JP', '', 'r', '~not json', '')`,
		`DROP TABLE audit_disclosed`, `DROP INDEX audit_records_actor`, `DELETE FROM schema_migrations WHERE version = 21`} {
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
