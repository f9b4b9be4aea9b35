package postgres_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"quadshare/internal/audit"
	"quadshare/internal/stix"
	"quadshare/internal/store"
	"quadshare/internal/store/postgres"
	"quadshare/internal/store/postgres/pgtest"
	"quadshare/internal/store/storetest"
)

func sqlExec(t *testing.T, url, sql string, args ...any) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(t.Context(), sql, args...); err != nil {
		t.Fatal(err)
	}
}

func appliedVersions(t *testing.T, url string) []int {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(t.Context(), `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	vs, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

// TestMigrateConcurrent starts several migrations of one fresh database at once: each
// version must be applied exactly once, and all must succeed.
func TestMigrateConcurrent(t *testing.T) {
	url := pgtest.NewDatabase(t)
	const n = 6
	var wg sync.WaitGroup
	applied := make([][]int, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			applied[i], errs[i] = postgres.Migrate(t.Context(), pgtest.WithPoolSize(url, 2))
		}()
	}
	wg.Wait()
	var all []int
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("migration %d: %v", i, errs[i])
		}
		all = append(all, applied[i]...)
	}
	slices.Sort(all)
	want := appliedVersions(t, url)
	if len(want) == 0 || !slices.Equal(all, want) {
		t.Fatalf("versions applied by the %d processes: %v; recorded: %v", n, all, want)
	}
	pending, err := postgres.Pending(t.Context(), url)
	if err != nil || len(pending) != 0 {
		t.Fatalf("pending after migrating: %v, %v", pending, err)
	}
	// The lease is released.
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var leases int
	if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM schema_lease`).Scan(&leases); err != nil || leases != 0 {
		t.Fatalf("%d leases left, %v", leases, err)
	}
}

func TestOpenWithoutAutoMigrate(t *testing.T) {
	url := pgtest.NewDatabase(t)
	_, err := postgres.Open(t.Context(), url, postgres.WithoutAutoMigrate())
	if !errors.Is(err, postgres.ErrPendingMigrations) || !strings.Contains(err.Error(), "[1") {
		t.Fatalf("open of an empty database without migrating: %v; want ErrPendingMigrations naming version 1", err)
	}
	if pending, err := postgres.Pending(t.Context(), url); err != nil || len(pending) == 0 || pending[0] != 1 {
		t.Fatalf("pending after refusing to migrate: %v, %v; want from version 1", pending, err)
	}
	if _, err := postgres.Migrate(t.Context(), url); err != nil {
		t.Fatal(err)
	}
	s, err := postgres.Open(t.Context(), url, postgres.WithoutAutoMigrate())
	if err != nil {
		t.Fatalf("open after migrating: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// A database migrated by a newer binary is refused.
	sqlExec(t, url, `INSERT INTO schema_migrations (version, name) VALUES (9999, 'future')`)
	if _, err := postgres.Open(t.Context(), url); err == nil || !strings.Contains(err.Error(), "9999") {
		t.Fatalf("open of a newer schema: %v; want an error naming 9999", err)
	}
}

func TestMigrationLease(t *testing.T) {
	url := pgtest.NewDatabase(t)
	if _, err := postgres.Migrate(t.Context(), url); err != nil { // creates the bookkeeping tables
		t.Fatal(err)
	}
	sqlExec(t, url, `DELETE FROM schema_migrations`)
	sqlExec(t, url, `DROP TABLE collections, versions, entries, clock, statuses, organisations, users, tokens, grants, jobs,
		audit_records, audit_checkpoints, audit_head,
		operator_profiles, report_events, report_revisions, report_versions, reports,
		outbox, peer_cursors, peers`)
	sqlExec(t, url, `DROP FUNCTION audit_append_only`)

	// A live lease held by another process: Migrate waits for it.
	sqlExec(t, url, `INSERT INTO schema_lease VALUES ('migrate', 'other/1/live', now() + interval '1 hour')`)
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	if _, err := postgres.Migrate(ctx, url); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("migrate while another holds the lease: %v; want to wait until the deadline", err)
	}
	if vs := appliedVersions(t, url); len(vs) != 0 {
		t.Fatalf("applied %v without the lease", vs)
	}
	// The holder died: once its lease has expired, it is taken over.
	sqlExec(t, url, `UPDATE schema_lease SET expires_at = now() - interval '1 second'`)
	got, err := postgres.Migrate(t.Context(), url)
	if err != nil {
		t.Fatalf("migrate after the lease expired: %v", err)
	}
	if want := appliedVersions(t, url); !slices.Equal(got, want) || len(got) == 0 {
		t.Fatalf("applied %v, recorded %v", got, want)
	}
}

// TestSCOSpecVersionMigration finds, after migration 22, an SCO stored before it
// without a spec_version by spec_version 2.1, its default (STIX 2.1 §3.2).
func TestSCOSpecVersionMigration(t *testing.T) {
	url := pgtest.NewDatabase(t)
	s, err := postgres.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	col := store.Collection{ID: "6c8a5f0e-0d0e-4c2a-9d7e-6a7d5a2f0a01", Title: "c"}
	if err := s.CreateCollection(ctx, col); err != nil {
		t.Fatal(err)
	}
	ip := storetest.Obj(t, "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd", "ipv4-addr", "", "",
		"spec_version", nil, "value", "198.51.100.3")
	if _, err := s.Put(ctx, col.ID, "", []stix.Object{ip}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	sqlExec(t, url, downgradeStatusCompleted+`DELETE FROM schema_migrations WHERE version >= 22`)
	if s, err = postgres.Open(ctx, url); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	p, err := s.Query(ctx, store.Query{Collection: col.ID, SpecVersions: []string{"2.1"}})
	if err != nil || len(p.Entries) != 1 || p.Entries[0].Object.SpecVersion != "2.1" {
		t.Fatalf("after the migration: %+v, %v; want the SCO, of spec_version 2.1", p.Entries, err)
	}
}

// TestDeletionsAcrossProcesses: a Delete through one process changes the count of
// deletions that another process on the same database reads.
func TestDeletionsAcrossProcesses(t *testing.T) {
	url := pgtest.NewDatabase(t)
	ctx := t.Context()
	var procs [2]*postgres.Store
	for i := range procs {
		s, err := postgres.Open(ctx, pgtest.WithPoolSize(url, 2))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		procs[i] = s
	}
	col := store.Collection{ID: "6c8a5f0e-0d0e-4c2a-9d7e-6a7d5a2f0a01", Title: "c"}
	if err := procs[0].CreateCollection(ctx, col); err != nil {
		t.Fatal(err)
	}
	ip := storetest.Obj(t, "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd", "ipv4-addr", "", "", "value", "198.51.100.3")
	if _, err := procs[0].Put(ctx, col.ID, "", []stix.Object{ip}); err != nil {
		t.Fatal(err)
	}
	before, err := procs[1].Deletions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := procs[0].Delete(ctx, col.ID, ip.ID, store.VersionFilter{All: true}, nil); err != nil || n != 1 {
		t.Fatalf("delete: %d, %v", n, err)
	}
	if after, err := procs[1].Deletions(ctx); err != nil || after == before {
		t.Fatalf("the other process reads %d deletions (%v), as before the delete", after, err)
	}
}

// TestDisclosedKeysMigration: after migration 24, AuditDisclosures finds the
// disclosures of an object appended before it (no keys, found by id) and after
// it (found by key), and not a record whose keys name the object but whose ids
// do not (two ids may share a key).
func TestDisclosedKeysMigration(t *testing.T) {
	url := pgtest.NewDatabase(t)
	ctx := t.Context()
	disclose := func(s *postgres.Store, id string) {
		t.Helper()
		e := audit.Entry{Kind: audit.Disclosure, Time: time.Now(), Actor: "peer:jp", Subject: "collection:c", Rule: "r",
			Objects: []audit.ObjectRef{{ID: id, Version: "2024-01-01T00:00:00.000Z"}}}
		if err := s.AppendAudit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	const id, other = "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "indicator--5a6b7c8d-0000-4000-8000-000000000001"
	s, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	disclose(s, id)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Back to version 23, the record as one appended then.
	sqlExec(t, url, downgradeStatusCompleted+`DELETE FROM schema_migrations WHERE version >= 24;
		DROP INDEX audit_records_disclosed_ids, audit_records_disclosed_keys;
		ALTER TABLE audit_records DROP COLUMN object_keys;
		CREATE INDEX audit_records_disclosed ON audit_records USING gin (object_ids) WHERE kind = 'disclosure'`)
	if s, err = postgres.Open(ctx, url); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	disclose(s, id)
	disclose(s, other)
	sqlExec(t, url, `INSERT INTO audit_records (seq, prev, hash, kind, time_us, actor, subject, rule, object_ids, object_versions, detail, object_keys)
		VALUES (100, '\x00', '\x00', 'disclosure', 0, 'peer:jp', 'collection:c', 'r', $1, '{v}', '', $2)`,
		[]string{other}, []int64{store.DisclosedKey(id)})
	got, err := s.AuditDisclosures(ctx, id, 10)
	if err != nil {
		t.Fatal(err)
	}
	var seqs []int64
	for _, r := range got {
		seqs = append(seqs, r.Seq)
	}
	if !slices.Equal(seqs, []int64{2, 1}) {
		t.Fatalf("disclosures of %s: records %v, want 2 and 1", id, seqs)
	}
}

// downgradeStatusCompleted takes a database back to before migration 25:
// statuses without the time they completed.
const downgradeStatusCompleted = `DELETE FROM schema_migrations WHERE version >= 25;
	DROP INDEX statuses_expiry; ALTER TABLE statuses DROP COLUMN completed;
	CREATE INDEX statuses_request_timestamp ON statuses (request_timestamp);`

// TestStatusCompletedMigration opens a database written before migration 25: a
// status completed then expires by its request time, as it did, and a pending
// one stays however old.
func TestStatusCompletedMigration(t *testing.T) {
	url := pgtest.NewDatabase(t)
	ctx := t.Context()
	s, err := postgres.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	sqlExec(t, url, downgradeStatusCompleted)
	sqlExec(t, url, `INSERT INTO statuses (id, collection, owner, done, request_timestamp, total, successes, failures, pendings)
		VALUES ('done', 'c', 'u', true, $1, 1, '[]', '[]', '[]'), ('pending', 'c', 'u', false, $1, 1, '[]', '[]', '[]')`,
		time.Now().Add(-72*time.Hour).UnixNano())
	if s, err = postgres.Open(ctx, url); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
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
