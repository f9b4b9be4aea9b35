package sqlite

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"quadshare/internal/stix"
	"quadshare/internal/store"
	"quadshare/internal/store/storetest"
)

// TestConformanceMergingIDs runs the conformance suite with object_ids_new moved
// into object_ids at every Put, so that every lookup by id goes through both.
func TestConformanceMergingIDs(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s := openTemp(t, WithAuditKey(storetest.AuditKey))
		s.mergeIDs = 1
		return s
	})
}

// idRows counts the rows of object_ids and object_ids_new.
func idRows(t *testing.T, s *Store) (merged, fresh int) {
	t.Helper()
	if err := s.w.QueryRow(`SELECT (SELECT count(*) FROM object_ids), (SELECT count(*) FROM object_ids_new)`).Scan(&merged, &fresh); err != nil {
		t.Fatal(err)
	}
	return merged, fresh
}

// TestObjectIDsMerge checks that new ids go to object_ids_new, move to object_ids
// in one pass once mergeIDs objects were stored, and are found in either, and that
// a deletion removes them from both.
func TestObjectIDsMerge(t *testing.T) {
	s := openTemp(t)
	defer s.Close()
	s.mergeIDs = 10
	ctx := t.Context()
	col := mustCollection(t, s)
	var objs []stix.Object
	put := func(n int) {
		t.Helper()
		batch := make([]stix.Object, n)
		for i := range batch {
			batch[i] = storetest.Indicator(t, len(objs)+i, "2024-06-01T12:00:00.000Z")
		}
		res, err := s.Put(ctx, col, "", batch)
		if err != nil {
			t.Fatal(err)
		}
		for i, r := range res {
			if r.Outcome != store.Added {
				t.Fatalf("object %d: %v", i, r.Outcome)
			}
		}
		objs = append(objs, batch...)
	}
	put(6)
	if m, f := idRows(t, s); m != 0 || f != 6 {
		t.Fatalf("after 6 objects: %d merged, %d new; want 0, 6", m, f)
	}
	put(4)
	if m, f := idRows(t, s); m != 10 || f != 0 {
		t.Fatalf("after 10 objects: %d merged, %d new; want 10, 0", m, f)
	}
	put(3)
	if m, f := idRows(t, s); m != 10 || f != 3 {
		t.Fatalf("after 13 objects: %d merged, %d new; want 10, 3", m, f)
	}
	for i, o := range objs {
		p, err := s.Query(ctx, store.Query{Collection: col, IDs: []string{o.ID}})
		if err != nil || len(p.Entries) != 1 || p.Entries[0].Object.ID != o.ID {
			t.Fatalf("object %d by id: %+v, %v", i, p.Entries, err)
		}
	}
	res, err := s.Put(ctx, col, "", objs) // every one found again, in either table
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Outcome != store.Duplicate {
			t.Fatalf("object %d again: %v, want a duplicate", i, r.Outcome)
		}
	}
	for _, k := range []int{0, 12} { // one merged, one new
		if n, err := s.Delete(ctx, col, objs[k].ID, store.VersionFilter{All: true}, nil); err != nil || n != 1 {
			t.Fatalf("delete %d: %d, %v", k, n, err)
		}
	}
	if m, f := idRows(t, s); m != 9 || f != 2 {
		t.Fatalf("after two deletions: %d merged, %d new; want 9, 2", m, f)
	}
}

// downgradeStatusCompleted takes a database back to before migration 26:
// statuses without the time they completed.
var downgradeStatusCompleted = []string{
	`DROP INDEX statuses_expiry`, `ALTER TABLE statuses DROP COLUMN completed`,
	`CREATE INDEX statuses_requested ON statuses (requested)`,
	`DELETE FROM schema_migrations WHERE version >= 26`,
}

// downgradeObjectIDs takes a database back to before migration 23: objects by id
// through the index objects_idh.
var downgradeObjectIDs = append(slices.Clip(downgradeStatusCompleted),
	`DROP VIEW object_ids_all`, `DROP TABLE object_ids`, `DROP TABLE object_ids_new`,
	`CREATE INDEX objects_idh ON objects (idh)`, `ALTER TABLE clock DROP COLUMN ids_merged`,
	`DELETE FROM schema_migrations WHERE version >= 23`,
)

// TestObjectIDsMigration opens a database written before migration 23 and finds
// its objects by id, in lookups of Put and in queries.
func TestObjectIDsMigration(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.db")
	s := openPath(t, path)
	ctx := t.Context()
	col := mustCollection(t, s)
	objs := indicators(t, 20)
	if _, err := s.Put(ctx, col, "", objs); err != nil {
		t.Fatal(err)
	}
	s = reopen(t, s, path, downgradeObjectIDs...)
	defer s.Close()
	if m, f := idRows(t, s); m != len(objs) || f != 0 {
		t.Fatalf("after the migration: %d merged, %d new; want %d, 0", m, f, len(objs))
	}
	newer := storetest.Obj(t, objs[3].ID, "indicator", "2024-06-01T12:00:00.000Z", "2024-07-01T12:00:00.000Z",
		"pattern", "[ipv4-addr:value = '192.0.2.1']", "pattern_type", "stix", "valid_from", "2024-06-01T12:00:00Z")
	res, err := s.Put(ctx, col, "", append(objs[:2:2], newer))
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Outcome != store.Duplicate || res[1].Outcome != store.Duplicate || res[2].Outcome != store.Added {
		t.Fatalf("after the migration: %+v, want two duplicates and an addition", res)
	}
	p, err := s.Query(ctx, store.Query{Collection: col, IDs: []string{objs[3].ID}, Versions: store.VersionFilter{All: true}})
	if err != nil || len(p.Entries) != 2 {
		t.Fatalf("both versions by id: %+v, %v", p.Entries, err)
	}
	p, err = s.Query(ctx, store.Query{Collection: col, IDs: []string{objs[3].ID}})
	if err != nil || len(p.Entries) != 1 || p.Entries[0].Object.Modified.String() != newer.Modified.String() {
		t.Fatalf("last version by id: %+v, %v", p.Entries, err)
	}
}

// TestSCOSpecVersionMigration opens a database written before migration 25, which
// stored an SCO without spec_version with an empty one, and finds the SCO by
// spec_version 2.1, its default (STIX 2.1 §3.2).
func TestSCOSpecVersionMigration(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.db")
	s := openPath(t, path)
	ctx := t.Context()
	col := mustCollection(t, s)
	ip := storetest.Obj(t, "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd", "ipv4-addr", "", "",
		"spec_version", nil, "value", "198.51.100.3")
	if _, err := s.Put(ctx, col, "", []stix.Object{ip}); err != nil {
		t.Fatal(err)
	}
	q := store.Query{Collection: col, SpecVersions: []string{"2.1"}}
	if p, err := s.Query(ctx, q); err != nil || len(p.Entries) != 0 {
		t.Fatalf("before the migration: %+v, %v; want the SCO stored without a spec_version", p.Entries, err)
	}
	s = reopen(t, s, path, append(downgradeStatusCompleted, `DELETE FROM schema_migrations WHERE version >= 25`)...)
	defer s.Close()
	if p, err := s.Query(ctx, q); err != nil || len(p.Entries) != 1 || p.Entries[0].Object.SpecVersion != "2.1" {
		t.Fatalf("after the migration: %+v, %v; want the SCO, of spec_version 2.1", p.Entries, err)
	}
}

// TestStatusCompletedMigration opens a database written before migration 26:
// a status completed then expires by its request time, as it did, and a pending
// one stays however old.
func TestStatusCompletedMigration(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.db")
	s := openPath(t, path)
	old := dbTime(time.Now().Add(-72 * time.Hour))
	insert := func(id string, done int) string {
		return fmt.Sprintf(`INSERT INTO statuses (id, collection, owner, done, requested, total, details)
			VALUES ('%s', 'c', 'u', %d, '%s', 1, '{}')`, id, done, old)
	}
	s = reopen(t, s, path, append(slices.Clip(downgradeStatusCompleted), insert("done", 1), insert("pending", 0))...)
	defer s.Close()
	ctx := t.Context()
	if n, err := s.DeleteStatusesBefore(ctx, time.Now().Add(-48*time.Hour)); err != nil || n != 1 {
		t.Fatalf("statuses deleted: %d, %v; want 1", n, err)
	}
	if _, err := s.Status(ctx, "done"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("completed status: %v, want ErrNotFound", err)
	}
	if st, err := s.Status(ctx, "pending"); err != nil || st.Done || !st.Completed.IsZero() {
		t.Fatalf("pending status: %+v, %v", st, err)
	}
}
