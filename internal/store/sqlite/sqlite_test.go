package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"quadshare/internal/stix"
	"quadshare/internal/store"
	"quadshare/internal/store/storetest"
)

// openTemp opens a fresh store in the test's temporary directory.
func openTemp(t testing.TB, opts ...Option) *Store {
	t.Helper()
	return openPath(t, filepath.Join(t.TempDir(), "quadshare.db"), opts...)
}

// openPath opens the store at path, for tests that open it again.
func openPath(t testing.TB, path string, opts ...Option) *Store {
	t.Helper()
	s, err := Open(t.Context(), path, opts...)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return s
}

// reopen runs stmts on s's writer (taking the database back to an older
// schema, say), closes s and opens the database at path again.
func reopen(t testing.TB, s *Store, path string, stmts ...string) *Store {
	t.Helper()
	for _, q := range stmts {
		if _, err := s.w.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return openPath(t, path)
}

// indicators returns n indicators, numbered from 0, of one version.
func indicators(t testing.TB, n int) []stix.Object {
	objs := make([]stix.Object, n)
	for i := range objs {
		objs[i] = storetest.Indicator(t, i, "2024-06-01T12:00:00.000Z")
	}
	return objs
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t, WithAuditKey(storetest.AuditKey)) })
}

func mustCollection(t testing.TB, s store.Store) string {
	t.Helper()
	id := storetest.NewUUID()
	if err := s.CreateCollection(context.Background(), store.Collection{ID: id, Title: "test"}); err != nil {
		t.Fatalf("create collection: %v", err)
	}
	return id
}

func TestPragmas(t *testing.T) {
	s := openTemp(t)
	defer s.Close()
	ctx := t.Context()
	tests := []struct {
		db     string
		pragma string
		want   string
	}{
		{"w", "journal_mode", "wal"},
		{"w", "synchronous", "1"}, // NORMAL
		{"w", "foreign_keys", "1"},
		{"w", "busy_timeout", "10000"},
		{"w", "page_size", "8192"},
		{"w", "wal_autocheckpoint", "0"}, // the background checkpointer does it
		{"r", "journal_mode", "wal"},
		{"r", "query_only", "1"},
		{"r", "busy_timeout", "10000"},
	}
	for _, tc := range tests {
		db := s.w
		if tc.db == "r" {
			db = s.r.DB
		}
		var got string
		if err := db.QueryRowContext(ctx, "PRAGMA "+tc.pragma).Scan(&got); err != nil {
			t.Fatalf("%s %s: %v", tc.db, tc.pragma, err)
		}
		if !strings.EqualFold(got, tc.want) {
			t.Errorf("%s PRAGMA %s = %s, want %s", tc.db, tc.pragma, got, tc.want)
		}
	}
	// Readers cannot write.
	if _, err := s.r.ExecContext(ctx, "DELETE FROM clock"); err == nil {
		t.Errorf("a reader connection wrote")
	}
	var fts int
	if err := s.r.QueryRowContext(ctx, "SELECT sqlite_compileoption_used('ENABLE_FTS5')").Scan(&fts); err != nil || fts != 1 {
		t.Errorf("FTS5 compiled in: %d, %v", fts, err)
	}
}

func TestFullSync(t *testing.T) {
	s, err := Open(t.Context(), filepath.Join(t.TempDir(), "q.db"), WithFullSync(), WithReaders(1))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var got int
	if err := s.w.QueryRowContext(t.Context(), "PRAGMA synchronous").Scan(&got); err != nil || got != 2 {
		t.Fatalf("synchronous = %d, %v; want 2 (FULL)", got, err)
	}
}

func TestOpenRefusesOddPaths(t *testing.T) {
	for _, p := range []string{"", ":memory:", "file:x.db", "x.db?mode=ro", "x#y"} {
		if s, err := Open(t.Context(), p); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", p)
		}
	}
}

func TestMigrations(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.db")
	s := openPath(t, path)
	ms, err := migrations()
	if err != nil || len(ms) == 0 {
		t.Fatalf("migrations: %d, %v", len(ms), err)
	}
	want := ms[len(ms)-1].version
	if v, err := s.SchemaVersion(t.Context()); err != nil || v != want {
		t.Fatalf("schema version %d, %v; want %d", v, err, want)
	}
	col := mustCollection(t, s)
	// Reopening applies nothing again and keeps the data.
	s = reopen(t, s, path)
	var applied int
	if err := s.r.QueryRow("SELECT count(*) FROM schema_migrations").Scan(&applied); err != nil || applied != len(ms) {
		t.Fatalf("%d migrations recorded, %v; want %d", applied, err, len(ms))
	}
	if _, err := s.Collection(t.Context(), col); err != nil {
		t.Fatalf("collection after reopen: %v", err)
	}
	// A database from a newer program is refused.
	if _, err := s.w.Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'future', '')", want+1); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err := Open(t.Context(), path); err == nil || !strings.Contains(err.Error(), "newer") {
		if s != nil {
			s.Close()
		}
		t.Fatalf("open of a newer schema: %v", err)
	}
}

// TestClockStepsBack checks date_added stays strictly increasing when the wall clock
// goes back, within a process and across a reopen.
func TestClockStepsBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.db")
	s := openPath(t, path)
	col := mustCollection(t, s)
	put := func(s *Store, n int) []store.PutResult {
		t.Helper()
		var objs []stix.Object
		for i := range n {
			objs = append(objs, storetest.Indicator(t, i, "2024-01-01T00:00:00Z"))
		}
		res, err := s.Put(t.Context(), col, "", objs)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	first := put(s, 3)
	last := first[2].DateAdded
	past := last.Add(-time.Hour)
	s.now = func() time.Time { return past }
	for _, r := range put(s, 3) {
		if !r.DateAdded.After(last) {
			t.Fatalf("DateAdded %v not after %v with the clock an hour back", r.DateAdded, last)
		}
		last = r.DateAdded
	}
	if want := first[2].DateAdded.Add(3 * time.Microsecond); !last.Equal(want) {
		t.Fatalf("with a clock behind, DateAdded %v, want last+1µs per entry = %v", last, want)
	}
	// Deleting the newest entries does not let their date_added be given again.
	p, err := s.Query(t.Context(), store.Query{Collection: col, AddedAfter: first[2].DateAdded, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range p.Entries {
		if _, err := s.Delete(t.Context(), col, e.Object.ID, store.VersionFilter{All: true}, nil); err != nil {
			t.Fatal(err)
		}
	}
	s = reopen(t, s, path)
	defer s.Close()
	s.now = func() time.Time { return past }
	if r := put(s, 1)[0]; !r.DateAdded.After(last) {
		t.Fatalf("after reopen: DateAdded %v not after %v", r.DateAdded, last)
	}
}

// TestGarbageCollection checks that an object version in no collection is gone, with
// its text index entry.
func TestGarbageCollection(t *testing.T) {
	s := openTemp(t)
	defer s.Close()
	ctx := t.Context()
	a, b := mustCollection(t, s), mustCollection(t, s)
	o := storetest.Obj(t, storetest.NewID("malware"), "malware", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z", "name", "Shamoon", "is_family", true)
	for _, col := range []string{a, b} {
		if _, err := s.Put(ctx, col, "", []stix.Object{o}); err != nil {
			t.Fatal(err)
		}
	}
	count := func() int {
		n, err := s.Count(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	found := func() int {
		es, err := s.Search(ctx, store.SearchQuery{Text: "shamoon", Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		return len(es)
	}
	if count() != 1 || found() != 2 {
		t.Fatalf("before delete: %d versions, %d found", count(), found())
	}
	if n, err := s.Delete(ctx, a, o.ID, store.VersionFilter{All: true}, nil); err != nil || n != 1 {
		t.Fatalf("delete from a: %d, %v", n, err)
	}
	if count() != 1 || found() != 1 {
		t.Fatalf("still in b: %d versions, %d found", count(), found())
	}
	if n, err := s.Delete(ctx, b, o.ID, store.VersionFilter{All: true}, nil); err != nil || n != 1 {
		t.Fatalf("delete from b: %d, %v", n, err)
	}
	if count() != 0 || found() != 0 {
		t.Fatalf("in no collection: %d versions, %d found", count(), found())
	}
	if err := s.idx.pass(ctx); err != nil {
		t.Fatal(err)
	}
	var idx, queued int
	if err := s.r.QueryRow("SELECT count(*) FROM search.fts WHERE fts MATCH 'shamoon'").Scan(&idx); err != nil || idx != 0 {
		t.Fatalf("text index still has it: %d, %v", idx, err)
	}
	if err := s.r.QueryRow("SELECT count(*) FROM search_deleted").Scan(&queued); err != nil || queued != 0 {
		t.Fatalf("deletions still queued: %d, %v", queued, err)
	}
	if _, err := s.idx.db.Exec("INSERT INTO fts (fts, rank) VALUES ('integrity-check', 1)"); err != nil {
		t.Fatalf("text index integrity: %v", err)
	}
	if r, err := s.IntegrityCheck(ctx); err != nil || r != "ok" {
		t.Fatalf("integrity: %q, %v", r, err)
	}
}

// TestSearchHostileText checks that no text given to Search is an error or a panic.
func TestSearchHostileText(t *testing.T) {
	s := openTemp(t)
	defer s.Close()
	col := mustCollection(t, s)
	if _, err := s.Put(t.Context(), col, "", []stix.Object{storetest.Indicator(t, 1, "2024-01-01T00:00:00Z")}); err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{
		`"`, `""`, `*`, `a*b`, `NEAR(a b)`, `a AND`, `OR`, `-x`, `^start`, `name:value`, `{name}: x`, `'; DROP TABLE objects; --`,
		strings.Repeat("x", 10000), strings.Repeat("word ", 1000), "\x00\xff\xfe", "日本語 テキスト", "é" + strings.Repeat("é", 200),
	} {
		if _, err := s.Search(t.Context(), store.SearchQuery{Text: text, Limit: 5}); err != nil {
			t.Errorf("search %.40q: %v", text, err)
		}
	}
	if es, err := s.Search(t.Context(), store.SearchQuery{Text: "malicious downloader", Limit: 5}); err != nil || len(es) != 1 {
		t.Fatalf("search still works: %d, %v", len(es), err)
	}
}

func FuzzSearchWords(f *testing.F) {
	for _, s := range []string{"", "energy wiper", `"a" OR b*`, "日本 語", strings.Repeat("é", 120)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		words := searchWords(text)
		if len(words) > maxSearchWords {
			t.Fatalf("%d words", len(words))
		}
		for _, w := range words {
			if w == "" || len(w) > maxWordLen || strings.ContainsAny(w, `"*^:(){}`+"\x00 ") {
				t.Fatalf("word %q", w)
			}
		}
	})
}

func TestQueryBounds(t *testing.T) {
	s := openTemp(t)
	defer s.Close()
	col := mustCollection(t, s)
	many := make([]string, maxFilterValues+1)
	for i := range many {
		many[i] = storetest.NewID("indicator")
	}
	if _, err := s.Query(t.Context(), store.Query{Collection: col, IDs: many, Limit: 10}); err == nil {
		t.Errorf("query with %d ids succeeded", len(many))
	}
	if _, err := s.Query(t.Context(), store.Query{Collection: col, IDs: many[:maxFilterValues], Limit: 10}); err != nil {
		t.Errorf("query with %d ids: %v", maxFilterValues, err)
	}
	// Dates beyond what a time can hold in microseconds are clamped, not an error.
	far := time.Date(20000, 1, 1, 0, 0, 0, 0, time.UTC)
	if _, err := s.Query(t.Context(), store.Query{Collection: col, AddedAfter: far, AddedUpTo: far, Limit: 10}); err != nil {
		t.Errorf("query far in the future: %v", err)
	}
	if _, err := s.Put(t.Context(), col, "", []stix.Object{{ID: "x--1"}}); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Errorf("put of an object without type or JSON: %v", err)
	}
}

// The WAL is copied into the database in the background while writes go on, so that a
// long import never leaves it to grow.
func TestBackgroundCheckpoint(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "q.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	col := storetest.NewUUID()
	if err := s.CreateCollection(ctx, store.Collection{ID: col, Title: "c", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		objs := make([]stix.Object, 100)
		for k := range objs {
			objs[k] = storetest.Indicator(t, i*100+k, "2024-01-01T00:00:00.000Z")
		}
		if _, err := s.Put(ctx, col, "", objs); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.ck.count.Load() < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	// The objects reached the database file itself, not only the WAL: without a
	// checkpoint the file would hold little more than the schema.
	fi, err := os.Stat(s.path)
	if err != nil {
		t.Fatal(err)
	}
	if s.ck.count.Load() < 2 || fi.Size() < 1<<20 {
		t.Fatalf("%d checkpoints, database file of %d bytes after writing 2,000 objects", s.ck.count.Load(), fi.Size())
	}
}

// restartWAL makes the next commit write the WAL from its start, unless a reader of
// the WAL keeps on; either way the writer gets its own busy timeout back.
func TestRestartWAL(t *testing.T) {
	defer func(d time.Duration) { checkpointInterval = d }(checkpointInterval)
	checkpointInterval = time.Hour // the test checkpoints by itself
	ctx := context.Background()
	s := openTemp(t)
	defer s.Close()
	col := mustCollection(t, s)
	next := 0
	put := func() {
		t.Helper()
		if _, err := s.Put(ctx, col, "", benchObjects(t, next, 200)); err != nil {
			t.Fatal(err)
		}
		next += 200
	}
	frames := func() int {
		t.Helper()
		var busy, n, copied int
		if err := s.ck.db.QueryRow("PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &n, &copied); err != nil {
			t.Fatal(err)
		}
		return n
	}
	put()
	put()
	before := frames()

	// A reader whose snapshot holds frames not yet copied reads from the WAL.
	put()
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := tx.QueryRow("SELECT count(*) FROM objects").Scan(&n); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if s.restartWAL(ctx) {
		t.Error("the WAL restarted under a reader of it")
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("the restart waited %v for the reader", d)
	}
	_ = tx.Rollback()

	if !s.restartWAL(ctx) {
		t.Fatal("no restart without readers")
	}
	put()
	if after := frames(); after >= before {
		t.Errorf("a WAL of %d frames after a restart and a Put; %d after two Puts", after, before)
	}
	var ms int64
	if err := s.w.QueryRow("PRAGMA busy_timeout").Scan(&ms); err != nil || ms != s.busyTimeout.Milliseconds() {
		t.Errorf("writer's busy timeout %d ms (%v), want %d", ms, err, s.busyTimeout.Milliseconds())
	}
}

// Under writes without a pause the checkpointer restarts the WAL now and then, so
// that it stays short. Without the restarts it held all that was written: more than
// twice the size of the database.
func TestWALRestarts(t *testing.T) {
	defer func(n int, d time.Duration) { restartFrames, checkpointInterval = n, d }(restartFrames, checkpointInterval)
	restartFrames, checkpointInterval = 64, 20*time.Millisecond
	ctx := context.Background()
	s := openTemp(t)
	defer s.Close()
	col := mustCollection(t, s)
	// Made beforehand: between two Puts the checkpoints must not catch up.
	batches := make([][]stix.Object, 100)
	for i := range batches {
		batches[i] = benchObjects(t, i*200, 200)
	}
	for _, b := range batches {
		if _, err := s.Put(ctx, col, "", b); err != nil {
			t.Fatal(err)
		}
	}
	wal, err := os.Stat(s.path + "-wal")
	if err != nil {
		t.Fatal(err)
	}
	db, err := os.Stat(s.path)
	if err != nil {
		t.Fatal(err)
	}
	if wal.Size() > db.Size() {
		t.Errorf("WAL of %d bytes for a database of %d, after %d restarts", wal.Size(), db.Size(), s.ck.restarts.Load())
	}
}

// TestSearchFileRebuilt checks that the search file is derived: a lost one, one
// ahead of the database, or one of another copy of it, is rebuilt from the objects,
// and oids freed by a delete are not given again (the index would keep the old text
// under the new object).
func TestSearchFileRebuilt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.db")
	s := openPath(t, path)
	ctx := t.Context()
	col := mustCollection(t, s)
	obj := func(name string) stix.Object {
		return storetest.Obj(t, storetest.NewID("malware"), "malware", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z", "name", name, "is_family", true)
	}
	search := func(s *Store, text string) int {
		t.Helper()
		es, err := s.Search(ctx, store.SearchQuery{Text: text, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		return len(es)
	}
	keep, gone := obj("Keepsake"), obj("Goner")
	if _, err := s.Put(ctx, col, "", []stix.Object{keep, gone}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Delete(ctx, col, gone.ID, store.VersionFilter{All: true}, nil); err != nil || n != 1 {
		t.Fatalf("delete: %d, %v", n, err)
	}
	if _, err := s.Put(ctx, col, "", []stix.Object{obj("Newcomer")}); err != nil {
		t.Fatal(err)
	}
	var oids int
	if err := s.r.QueryRow("SELECT max(oid) FROM objects").Scan(&oids); err != nil || oids != 3 {
		t.Fatalf("oid of the third object: %d, %v (a freed oid was given again)", oids, err)
	}
	if search(s, "goner") != 0 || search(s, "newcomer") != 1 || search(s, "keepsake") != 1 {
		t.Fatal("search before reopening")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for _, suffix := range []string{"", "-wal", "-shm"} {
		if err := os.Remove(path + searchSuffix + suffix); err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
	}
	s = openPath(t, path)
	if search(s, "goner") != 0 || search(s, "newcomer") != 1 || search(s, "keepsake") != 1 {
		t.Fatal("search after the search file was lost")
	}
	// An index ahead of the database (another copy's) is started over.
	if _, err := s.idx.db.Exec("UPDATE search_state SET indexed = 1000"); err != nil {
		t.Fatal(err)
	}
	s = reopen(t, s, path)
	if search(s, "newcomer") != 1 || search(s, "keepsake") != 1 {
		t.Fatal("search after the search file was ahead")
	}
	// A copy of the database that went another way from here, and reached further,
	// put in its place: the index of this one is started over.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	fork := filepath.Join(t.TempDir(), "fork.db")
	copyFile(t, path, fork)
	s = openPath(t, path)
	if _, err := s.Put(ctx, col, "", []stix.Object{obj("Original")}); err != nil {
		t.Fatal(err)
	}
	if search(s, "original") != 1 {
		t.Fatal("search before the copy")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	f := openPath(t, fork)
	if _, err := f.Put(ctx, col, "", []stix.Object{obj("Forked"), obj("Further")}); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	copyFile(t, fork, path)
	s = openPath(t, path)
	if search(s, "original") != 0 || search(s, "forked") != 1 || search(s, "further") != 1 || search(s, "keepsake") != 1 {
		t.Fatal("search in a copy of another history")
	}
	// A backup from before a deletion, restored after the index removed the object.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	copyFile(t, path, fork)
	s = openPath(t, path)
	p, err := s.Query(ctx, store.Query{Collection: col, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range p.Entries {
		if e.Object.Name == "Further" {
			if n, err := s.Delete(ctx, col, e.Object.ID, store.VersionFilter{All: true}, nil); err != nil || n != 1 {
				t.Fatalf("delete: %d, %v", n, err)
			}
		}
	}
	// The indexer removes it from the index a pass later.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var queued int
		if err := s.r.QueryRow("SELECT count(*) FROM search_deleted").Scan(&queued); err != nil {
			t.Fatal(err)
		}
		if queued == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the deletion was not indexed")
		}
	}
	if search(s, "further") != 0 {
		t.Fatal("search after the deletion")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	copyFile(t, fork, path)
	s = openPath(t, path)
	defer s.Close()
	if search(s, "further") != 1 {
		t.Fatal("search in a backup restored from before a deletion")
	}
}

// TestPutBatchedRows checks one Put where objects repeat and several versions of one
// object come in the same Put: each must see the entries written before it in the
// transaction (a duplicate, the latest version to clear).
func TestPutBatchedRows(t *testing.T) {
	s := openTemp(t)
	defer s.Close()
	ctx := t.Context()
	col := mustCollection(t, s)
	var objs []stix.Object
	ids := make([]string, 10)
	for i := range ids {
		ids[i] = storetest.NewID("malware")
	}
	// 100 objects: every tenth is a first version of one of the ten ids, and every
	// other fifth a repeat of the one before it, while that one's entry is queued.
	for i := range 100 {
		switch {
		case i%10 == 0:
			ts := fmt.Sprintf("2024-01-01T00:00:%02dZ", i/10)
			objs = append(objs, storetest.Obj(t, ids[(i/10)%len(ids)], "malware", "2024-01-01T00:00:00Z", ts, "name", "x", "is_family", true))
		case i%5 == 0:
			objs = append(objs, objs[i-1])
		default:
			objs = append(objs, storetest.Indicator(t, i, "2024-06-01T12:00:00.000Z"))
		}
	}
	// The ten ids again, each in a newer version, so that the latest moves.
	for i, id := range ids {
		ts := fmt.Sprintf("2024-01-02T00:00:%02dZ", i)
		objs = append(objs, storetest.Obj(t, id, "malware", "2024-01-01T00:00:00Z", ts, "name", "x", "is_family", true))
	}
	// Two more versions of the first, the second while the first's entry is queued.
	for _, ts := range []string{"2024-01-03T00:00:00Z", "2024-01-04T00:00:00Z"} {
		objs = append(objs, storetest.Obj(t, ids[0], "malware", "2024-01-01T00:00:00Z", ts, "name", "x", "is_family", true))
	}
	res, err := s.Put(ctx, col, "", objs)
	if err != nil {
		t.Fatal(err)
	}
	var added, dups int
	for _, r := range res {
		switch r.Outcome {
		case store.Added:
			added++
		case store.Duplicate:
			dups++
		}
	}
	if added != 102 || dups != 10 {
		t.Fatalf("%d added, %d duplicates; want 102 and 10", added, dups)
	}
	var bad int
	if err := s.r.QueryRow(`SELECT count(*) FROM (SELECT o.id FROM entries e JOIN objects o ON o.oid = e.oid
		GROUP BY o.id HAVING sum(e.is_last) <> 1)`).Scan(&bad); err != nil || bad != 0 {
		t.Fatalf("%d objects without exactly one latest entry, %v", bad, err)
	}
	p, err := s.Query(ctx, store.Query{Collection: col, Types: []string{"malware"}, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Entries) != len(ids) {
		t.Fatalf("%d latest malware, want %d", len(p.Entries), len(ids))
	}
	for _, e := range p.Entries {
		if want := "2024-01-02"; e.Object.ID == ids[0] && !strings.HasPrefix(e.Object.Modified.String(), "2024-01-04") ||
			e.Object.ID != ids[0] && !strings.HasPrefix(e.Object.Modified.String(), want) {
			t.Errorf("%s: latest is %s", e.Object.ID, e.Object.Modified)
		}
	}
	if n, err := s.Count(ctx, ""); err != nil || n != 102 {
		t.Fatalf("%d versions stored, %v; want 102", n, err)
	}
}

// TestSearchTwoStores checks two stores open on one database, as two processes would be:
// both write and index at once, and each finds what both wrote.
func TestSearchTwoStores(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.db")
	ctx := t.Context()
	var stores [2]*Store
	for i := range stores {
		s, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		stores[i] = s
	}
	col := mustCollection(t, stores[0])
	const batches, size = 10, 40
	errs := make(chan error, len(stores))
	for k, s := range stores {
		go func() {
			for n := range batches {
				objs := make([]stix.Object, size)
				for i := range objs {
					objs[i] = storetest.Obj(t, storetest.NewID("malware"), "malware", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z",
						"name", fmt.Sprintf("Twin%d", k), "is_family", true)
				}
				if _, err := s.Put(ctx, col, "", objs); err != nil {
					errs <- err
					return
				}
				if _, err := s.Search(ctx, store.SearchQuery{Text: fmt.Sprintf("twin%d", 1-k), Limit: 1}); err != nil {
					errs <- fmt.Errorf("search after batch %d: %w", n, err)
					return
				}
			}
			errs <- nil
		}()
	}
	for range stores {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range stores {
		for k := range stores {
			es, err := s.Search(ctx, store.SearchQuery{Text: fmt.Sprintf("twin%d", k), Limit: maxLimit})
			if err != nil || len(es) != batches*size {
				t.Fatalf("twin%d: %d found, %v; want %d", k, len(es), err, batches*size)
			}
		}
	}
}

// TestCloseTwice checks that a second Close, and a use after Close, are errors, not panics.
func TestCloseTwice(t *testing.T) {
	s := openTemp(t)
	col := mustCollection(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	if _, err := s.Put(t.Context(), col, "", []stix.Object{storetest.Indicator(t, 1, "2024-06-01T12:00:00.000Z")}); err == nil {
		t.Error("put after close: no error")
	}
	if _, err := s.Search(t.Context(), store.SearchQuery{Text: "x"}); err == nil {
		t.Error("search after close: no error")
	}
}

// TestRawStmtFollowsConnection checks that a statement run below database/sql is
// prepared again when it is used on another driver connection, as after database/sql
// replaced the writer's, and runs there.
func TestRawStmtFollowsConnection(t *testing.T) {
	s := openTemp(t)
	defer s.Close()
	r := &rawStmt{query: `INSERT INTO search_deleted (oid) VALUES (?)`}
	ctx := t.Context()
	var first any
	for i, db := range []*sql.DB{s.w, s.ck.db} { // two connections to the same file
		conn, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		err = conn.Raw(func(dc any) error {
			st, err := r.on(dc)
			if err != nil {
				return err
			}
			if i == 0 {
				first = st
			} else if st == first {
				return errors.New("the statement of the first connection was used on the second")
			}
			_, err = st.ExecContext(ctx, []driver.NamedValue{{Ordinal: 1, Value: int64(1000 + i)}})
			return err
		})
		conn.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM search_deleted WHERE oid IN (1000, 1001)`).Scan(&n); err != nil || n != 2 {
		t.Fatalf("%d rows written, %v; want 2", n, err)
	}
	if err := r.close(s.w); err != nil { // prepared last on the other connection: dropped
		t.Fatal(err)
	}
}
