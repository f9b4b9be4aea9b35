// Package sqlite is the embedded store: one SQLite database file, written through a
// single connection and read through a small pool, with no cgo (modernc.org/sqlite).
//
// Durability: the database runs in WAL mode with synchronous=NORMAL. A transaction is
// in the WAL file when COMMIT returns, so nothing acknowledged is lost when the process
// is killed (kill -9, a crash, an OOM kill); the operating system still holds the
// pages. Only a power loss or a kernel crash can lose the last transactions before a
// checkpoint, never corrupt the database. synchronous=FULL would add an fsync to every
// commit for that case; Options.Synchronous selects it.
//
// Writes go through one connection, so they are serialised in commit order; reads use
// a pool of query_only connections that see the last commit (WAL readers never block
// the writer), with the search file attached. Every Put is one IMMEDIATE transaction.
//
// Data model (migrations/0001_init.sql):
//   - objects holds every version (id, version) once, whatever the number of
//     collections that hold it: the JSON as received, the indexed properties, and the
//     SHA-256 of the JSON. Duplicate and Conflict are told apart by that hash, so "the
//     same bytes-for-meaning" is approximated by byte equality of the compact JSON.
//   - entries holds collection membership (collection, object, date_added, submitter).
//     date_added is integer microseconds, unique in the database: max(now, last+1µs),
//     with last kept in the clock table, so it is strictly increasing across every Put,
//     restarts and deletes, even when the wall clock steps back. It can run ahead of the
//     wall clock by a microsecond per entry while Puts outpace the clock: a pagination
//     snapshot bound is the newest committed date_added (LastAdded), not the clock.
//   - entries.is_last flags the newest version of each object in its collection, so
//     that match[version]=last, the default of every TAXII read, costs no subquery.
//   - Put inserts each new object with its own statement, then writes the entries of
//     the objects it stored with one INSERT ... SELECT per run of them (writeEntries):
//     nothing to bind per entry, and cursors that stay at the end of the entries'
//     indexes, where a bulk import's keys all go.
//   - An object version that Delete leaves in no collection is removed with its text:
//     a deletion really deletes.
//   - Indexes: entries by (collection, date_added) (the table's key), by (object,
//     collection), by (collection, type, date_added); objects by an 8-byte hash of the
//     id (idh), in two tables (migrations/0023_object_ids.sql): object_ids_new takes
//     the ids of each Put, and is moved into object_ids in one sorted pass once
//     enough have gathered (indexIDs); lookups read both, through the view
//     object_ids_all. There is no spec_version index: it has two or three values and
//     a query filters it on rows found through the others. The id tables are the only
//     ones keyed by the random part of STIX ids: a single index written by every batch
//     was written all over (at a million objects, a batch of 500 dirtied a page of it
//     per object), where the small table takes few pages per batch and the large one
//     is written a page at a time for many ids. (id, version) stays unique because the
//     single writer looks each batch up before inserting (Put): those ids that a
//     Bloom filter of the stored ids, in its memory, may hold (idfilter.go).
//   - Full-text search: FTS5 over name and description of every stored version, in a
//     file of its own next to the database (path + "-search"), indexed after each
//     commit by a background indexer so that the single writer never waits for it;
//     Search first brings it up to the last commit, and keeps the latest version per
//     collection at query time. The file is derived: it is rebuilt when lost or of
//     another copy of the database (fts.go).
//   - The audit trail (migrations/0002_audit.sql, audit.go): one row per record,
//     appended inside the transaction of each Put, Delete and account change. Its
//     two indexes (who received an object, the traffic per actor) are in a file of
//     their own (path + "-trail"), derived like the search file (trailindex.go).
package sqlite

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"quadshare/internal/store"
)

// Options tune the store; the zero value is a good default.
type Options struct {
	Readers     int  // read connections; 0: max(2, GOMAXPROCS)
	CacheMiB    int  // page cache of the writer; readers get a quarter each; 0: 64
	MmapMiB     int  // memory-mapped I/O per connection; 0 or < 0: off (see Open)
	Synchronous bool // synchronous=FULL: also survive power loss, at an fsync per commit
	BusyTimeout time.Duration
	AuditKey    ed25519.PrivateKey // signs audit checkpoints; nil: none (audit.go)
}

// Option changes Options.
type Option func(*Options)

// WithOptions sets every option at once.
func WithOptions(o Options) Option { return func(p *Options) { *p = o } }

// WithReaders sets the number of read connections.
func WithReaders(n int) Option { return func(p *Options) { p.Readers = n } }

// WithFullSync makes every commit survive a power loss as well (synchronous=FULL).
func WithFullSync() Option { return func(p *Options) { p.Synchronous = true } }

// pageSize is set when the database file is created; later it cannot change in WAL mode.
const pageSize = 8192

// Store is a store.Store in one SQLite database file.
type Store struct {
	w    *sql.DB   // exactly one connection: every write goes through it, in order
	r    *readPool // read-only connections, with their statements prepared once
	path string
	now  func() time.Time // the wall clock; tests step it back

	busyTimeout time.Duration // of every connection

	insObject                           *rawStmt
	insEntry, selStored, selEntry       *sql.Stmt
	selLatest, clearLatest, insEntryRun *sql.Stmt
	insIDs                              *sql.Stmt
	insOutbox                           [len(enqueueRows)]*sql.Stmt // of enqueueRows[i] rows
	mergeIDs                            int64                       // objects stored between two moves of object_ids_new (indexIDs)
	ids                                 *idFilter                   // the ids stored, as far as Put knows (idfilter.go)
	idsNext                             atomic.Pointer[idFilter]    // filled in the background, for the next Put
	idsFilling                          atomic.Bool
	idsWG                               sync.WaitGroup
	idsCtx                              context.Context
	idsStop                             context.CancelFunc

	ck  *checkpointer
	idx *indexer    // the search file (fts.go)
	ti  *trailIndex // the indexes of the audit trail (trailindex.go)
	au  auditState

	deletions atomic.Uint64 // Deletes begun and ended (Deletions)
}

var _ store.Store = (*Store)(nil)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Open opens (creating when needed) the database at path and brings its schema up to date.
func Open(ctx context.Context, path string, opts ...Option) (*Store, error) {
	var o Options
	for _, f := range opts {
		f(&o)
	}
	if path == "" || path == ":memory:" || strings.ContainsAny(path, "?#") || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("sqlite: open %q: need a plain file path", path)
	}
	if o.Readers <= 0 {
		o.Readers = max(2, runtime.GOMAXPROCS(0))
	}
	if o.CacheMiB <= 0 {
		o.CacheMiB = 64
	}
	// Memory-mapped I/O is off by default. A connection whose next read
	// transaction finds the database changed drops its page cache and, with
	// mmap, unmaps the whole file, so that every page is faulted in anew (and
	// the unmapping itself is costly). Every read through the gate commits a
	// record to the trail, so under reads the database changes all the time:
	// a filtered TAXII page spent more than half its query time faulting pages
	// in, a paginated walk a third. Read with pread, the same pages cost less.
	if o.BusyTimeout <= 0 {
		o.BusyTimeout = 10 * time.Second
	}
	sync := "NORMAL"
	if o.Synchronous {
		sync = "FULL"
	}
	mmap := max(0, o.MmapMiB) << 20
	dsn := func(file string, cacheMiB int, extra ...string) string {
		q := url.Values{}
		q.Set("_busy_timeout", strconv.FormatInt(o.BusyTimeout.Milliseconds(), 10))
		q.Add("_pragma", "foreign_keys(1)")
		q.Add("_pragma", "synchronous("+sync+")")
		q.Add("_pragma", fmt.Sprintf("cache_size(%d)", -cacheMiB*1024))
		q.Add("_pragma", fmt.Sprintf("mmap_size(%d)", mmap))
		q.Add("_pragma", "temp_store(memory)")
		for i := 0; i+1 < len(extra); i += 2 {
			q.Add(extra[i], extra[i+1])
		}
		return file + "?" + q.Encode()
	}

	// The writer never checkpoints: a background connection copies the WAL into the
	// database (checkpoint.go), on the other core, while the writer goes on writing.
	w, err := sql.Open("sqlite", dsn(path, o.CacheMiB, "_txlock", "immediate",
		"_pragma", "wal_autocheckpoint(0)", "_pragma", fmt.Sprintf("journal_size_limit(%d)", 128<<20)))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	s := &Store{w: w, path: path, now: time.Now, busyTimeout: o.BusyTimeout, mergeIDs: defaultMergeIDs}
	s.idsCtx, s.idsStop = context.WithCancel(context.Background())
	fail := func(err error) (*Store, error) {
		_ = s.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// page_size only takes effect before the file has content, and must precede WAL.
	if _, err := w.ExecContext(ctx, fmt.Sprintf("PRAGMA page_size = %d", pageSize)); err != nil {
		return fail(err)
	}
	var mode string
	if err := w.QueryRowContext(ctx, "PRAGMA journal_mode = WAL").Scan(&mode); err != nil {
		return fail(err)
	}
	if !strings.EqualFold(mode, "wal") {
		return fail(fmt.Errorf("journal_mode is %q, want wal", mode))
	}
	if err := migrate(ctx, w); err != nil {
		return fail(err)
	}

	if err := s.openIndexer(ctx, dsn(path+searchSuffix, 16)); err != nil {
		return fail(err)
	}
	if err := s.openTrailIndex(ctx, dsn(path+trailSuffix, 16)); err != nil {
		return fail(err)
	}
	r := sql.OpenDB(&attachConnector{d: &sqlite.Driver{}, dsn: dsn(path, max(8, o.CacheMiB/4), "_pragma", "query_only(1)"),
		attach: []attached{{path + searchSuffix, "search"}, {path + trailSuffix, "trail"}}})
	r.SetMaxOpenConns(o.Readers)
	r.SetMaxIdleConns(o.Readers)
	s.r = newReadPool(r)
	if err := r.PingContext(ctx); err != nil {
		return fail(err)
	}
	if err := s.prepare(ctx); err != nil {
		return fail(err)
	}
	if err := s.prepareAudit(ctx, o.AuditKey); err != nil {
		return fail(err)
	}
	s.fillIDFilter()
	if err := s.startCheckpointer(dsn(path, 8)); err != nil {
		return fail(err)
	}
	return s, nil
}

// Close closes the store. Every committed transaction is already durable.
func (s *Store) Close() error {
	var errs []error
	if s.idsStop != nil {
		s.idsStop()
		s.idsWG.Wait()
	}
	errs = append(errs, s.stopCheckpointer())
	if s.ti != nil {
		errs = append(errs, s.ti.close()) // left in place: a late wake or catchUp finds it closed
	}
	if s.idx != nil {
		errs = append(errs, s.idx.close())
		s.idx = nil
	}
	for _, st := range []*sql.Stmt{s.insEntry, s.selStored, s.selEntry, s.selLatest, s.clearLatest, s.insEntryRun, s.insIDs} {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	if s.insObject != nil && s.w != nil {
		errs = append(errs, s.insObject.close(s.w))
	}
	errs = append(errs, s.closeAudit())
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	if s.w != nil {
		// Fold the WAL back into the database so the file stands alone.
		if _, err := s.w.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil && !errors.Is(err, sql.ErrConnDone) {
			errs = append(errs, err)
		}
		errs = append(errs, s.w.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("sqlite: close %s: %w", s.path, err)
	}
	return nil
}

// migration is one embedded schema step.
type migration struct {
	version int
	name    string
	sql     string
}

func migrations() ([]migration, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, n := range names {
		base := strings.TrimPrefix(n, "migrations/")
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must start with a positive number and _", base)
		}
		b, err := migrationFiles.ReadFile(n)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: base, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("migrations %s and %s share a version", ms[i-1].name, ms[i].name)
		}
	}
	return ms, nil
}

// migrate applies, each in its own transaction, the migrations not yet recorded in
// schema_migrations. A database newer than this program is refused.
func migrate(ctx context.Context, db *sql.DB) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at TEXT NOT NULL)`); err != nil {
		return fmt.Errorf("migrations table: %w", err)
	}
	var current int
	if err := db.QueryRowContext(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&current); err != nil {
		return fmt.Errorf("schema version: %w", err)
	}
	if n := len(ms); n > 0 && current > ms[n-1].version {
		return fmt.Errorf("database schema version %d is newer than this program's %d", current, ms[n-1].version)
	}
	for _, m := range ms {
		if m.version <= current {
			continue
		}
		if err := applyMigration(ctx, db, m); err != nil {
			return err
		}
	}
	return nil
}

func applyMigration(ctx context.Context, db *sql.DB, m migration) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migration %s: %w", m.name, err)
	}
	defer func() { _ = tx.Rollback() }()
	// Another process may have applied it since we looked.
	var done int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations WHERE version = ?", m.version).Scan(&done); err != nil {
		return fmt.Errorf("migration %s: %w", m.name, err)
	}
	if done > 0 {
		return nil
	}
	if _, err := tx.ExecContext(ctx, m.sql); err != nil {
		return fmt.Errorf("migration %s: %w", m.name, err)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
		m.version, m.name, dbTime(time.Now())); err != nil {
		return fmt.Errorf("migration %s: %w", m.name, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migration %s: %w", m.name, err)
	}
	return nil
}

// SchemaVersion returns the version of the last migration applied.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.r.QueryRowContext(ctx, "SELECT coalesce(max(version), 0) FROM schema_migrations").Scan(&v)
	return v, err
}

// IntegrityCheck runs PRAGMA integrity_check and returns its report ("ok" when sound).
func (s *Store) IntegrityCheck(ctx context.Context) (string, error) {
	rows, err := s.r.QueryContext(ctx, "PRAGMA integrity_check")
	if err != nil {
		return "", fmt.Errorf("sqlite: integrity check: %w", err)
	}
	defer rows.Close()
	var lines []string
	for rows.Next() {
		var l string
		if err := rows.Scan(&l); err != nil {
			return "", fmt.Errorf("sqlite: integrity check: %w", err)
		}
		lines = append(lines, l)
	}
	if err := rows.Err(); err != nil {
		return "", fmt.Errorf("sqlite: integrity check: %w", err)
	}
	return strings.Join(lines, "\n"), nil
}

// timeLayout is fixed-width so that the text sorts as the instants do.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

var (
	minTime = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	maxTime = time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)
)

// dbTime formats t for a TEXT column: "" for the zero time, else clamped to years 1..9999.
func dbTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.UTC()
	if t.Before(minTime) {
		t = minTime
	}
	if t.After(maxTime) {
		t = maxTime
	}
	return t.Format(timeLayout)
}

// parseTime is the inverse of dbTime.
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(timeLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("stored time %q: %w", s, err)
	}
	return t, nil
}

// micros converts a date_added bound to integer microseconds (truncating).
func micros(t time.Time) int64 {
	if t.Before(minTime) {
		t = minTime
	}
	if t.After(maxTime) {
		t = maxTime
	}
	return t.Truncate(time.Microsecond).UnixMicro()
}

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// sqliteCode returns the extended result code of a SQLite error, or 0.
func sqliteCode(err error) int {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}

func isUnique(err error) bool {
	c := sqliteCode(err)
	return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

func isForeignKey(err error) bool { return sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY }
