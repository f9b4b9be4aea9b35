package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// The full-text index of names and descriptions lives in a file of its own next to the
// database (path + searchSuffix), written by an indexer after each Put commits rather
// than inside the Put. In a bulk import the index took a sixth of the single writer's
// time (tokenising, then merging segments at every commit); in its own file it has its
// own write lock, so it is built on another core while the writer goes on. The file
// holds nothing that the database does not: it is rebuilt from the objects table when
// it is missing or of another copy of the database, and Search first brings it up to
// the last commit.
//
// Objects are indexed in oid order up to a watermark (search_state.indexed, in the
// index file, committed with the rows it covers). Oids are never reused (clock.last_oid),
// so what lies below the watermark never changes but by deletion: Delete queues the
// oids it removes in search_deleted, in its own transaction, and the indexer removes
// them from the index (contentless_delete) and then from the queue.
const searchSuffix = "-search"

const searchSchema = `
CREATE VIRTUAL TABLE IF NOT EXISTS fts USING fts5 (
    name, description,
    content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TABLE IF NOT EXISTS search_state (
    one     INTEGER PRIMARY KEY CHECK (one = 1),
    indexed INTEGER NOT NULL          -- every object with an oid up to this one is indexed
);
INSERT OR IGNORE INTO search_state (one, indexed) VALUES (1, 0);
-- The newest record of the audit trail when the watermark last moved: the index
-- belongs to the database whose trail holds that record with that hash.
CREATE TABLE IF NOT EXISTS search_trail (
    one  INTEGER PRIMARY KEY CHECK (one = 1),
    seq  INTEGER NOT NULL,
    hash BLOB NOT NULL
);
-- A pass takes a second of commits: keep its terms in memory (16 MiB) rather than
-- flush many small segments, and merge segments 8 at a time rather than 4, which
-- halves the merging of a large index for a few more segments to read in a query.
INSERT INTO fts (fts, rank) VALUES ('hashsize', 16777216);
INSERT INTO fts (fts, rank) VALUES ('automerge', 8);`

// indexDelay is how long the indexer lets commits gather before a pass.
const indexDelay = time.Second

// indexChunk is the most objects one indexer transaction takes, so that the index's
// memory and the length of a transaction stay bounded after a long outage.
const indexChunk = 50_000

// indexer keeps the search file up to date with the database.
type indexer struct {
	db      *sql.DB // one connection: the search file, with the database attached as "store"
	s       *Store
	mu      sync.Mutex   // one pass at a time
	indexed atomic.Int64 // the watermark as of the last pass
	bg      *passes
}

// openDerived opens the file of a derived index (dsn) through one connection, in
// WAL mode, with the database attached as "store" to read what it indexes.
func (s *Store) openDerived(ctx context.Context, dsn string) (*sql.DB, error) {
	db := sql.OpenDB(&attachConnector{d: &sqlite.Driver{}, dsn: dsn, attach: []attached{{s.path, "store"}}})
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	var mode string
	err := db.QueryRowContext(ctx, "PRAGMA journal_mode = WAL").Scan(&mode)
	if err == nil && !strings.EqualFold(mode, "wal") {
		err = fmt.Errorf("journal_mode is %q, want wal", mode)
	}
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}

// execTx runs the statements of query in one transaction of db.
func execTx(ctx context.Context, db *sql.DB, query string) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if _, err := tx.ExecContext(ctx, query); err != nil {
		return err
	}
	return tx.Commit()
}

// attachConnector opens connections to dsn with other database files attached,
// so that one query can join them.
type attachConnector struct {
	d      *sqlite.Driver
	dsn    string
	attach []attached
}

// attached is a database file attached under a schema name.
type attached struct{ path, as string }

func (c *attachConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.d.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	ex, ok := conn.(driver.ExecerContext)
	if !ok {
		_ = conn.Close()
		return nil, errors.New("sqlite driver cannot execute")
	}
	for _, a := range c.attach {
		if _, err := ex.ExecContext(ctx, "ATTACH DATABASE ?1 AS "+a.as,
			[]driver.NamedValue{{Ordinal: 1, Value: a.path}}); err != nil {
			_ = conn.Close()
			return nil, fmt.Errorf("attach %s: %w", a.path, err)
		}
	}
	return conn, nil
}

func (c *attachConnector) Driver() driver.Driver { return c.d }

// openIndexer opens (creating when needed) the search file of s, starts the indexer, and
// asks it to catch up with what was committed while it was not running.
func (s *Store) openIndexer(ctx context.Context, dsn string) error {
	db, err := s.openDerived(ctx, dsn)
	if err != nil {
		return fmt.Errorf("search index: %w", err)
	}
	x := &indexer{db: db, s: s}
	fail := func(err error) error {
		_ = db.Close()
		return fmt.Errorf("search index: %w", err)
	}
	if _, err := db.ExecContext(ctx, searchSchema); err != nil {
		return fail(err)
	}
	// An index ahead of the database, or of a trail that the database's does not
	// hold, belongs to another copy of it (a database restored from a backup, or
	// copied over this one): start it over. Every Put appends a record to the
	// trail, and the trail is a hash chain: the same record means the same objects.
	var indexed, lastOid int64
	var sameTrail bool
	if err := db.QueryRowContext(ctx, "SELECT indexed FROM search_state").Scan(&indexed); err != nil {
		return fail(err)
	}
	if err := db.QueryRowContext(ctx, "SELECT last_oid FROM store.clock").Scan(&lastOid); err != nil {
		return fail(err)
	}
	if err := db.QueryRowContext(ctx, `SELECT NOT EXISTS (SELECT 1 FROM search_trail)
		OR EXISTS (SELECT 1 FROM search_trail s JOIN store.audit_records r ON r.seq = s.seq AND r.hash = s.hash)`).Scan(&sameTrail); err != nil {
		return fail(err)
	}
	if indexed > lastOid || !sameTrail {
		if err := execTx(ctx, db, "DELETE FROM fts; DELETE FROM search_trail; UPDATE search_state SET indexed = 0"); err != nil {
			return fail(err)
		}
		indexed = 0
	}
	x.indexed.Store(indexed)
	s.idx = x
	// A failure is retried at the next commit; Search, which runs a pass itself,
	// reports it. One pass over many commits makes fewer, larger segments, which
	// FTS5 then merges less often.
	x.bg = startPasses(indexDelay, func() { _ = x.pass(context.Background()) })
	return nil
}

// wake asks the indexer for a pass, without waiting. The indexer of a closed store is nil.
func (x *indexer) wake() {
	if x == nil {
		return
	}
	x.bg.wake()
}

// pass indexes every object committed so far and removes the deleted ones.
func (x *indexer) pass(ctx context.Context) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	busy := 0
	for {
		more, err := x.step(ctx)
		// Another process indexing the same file can take its write lock between this
		// step's read and its write, which SQLite reports at once rather than waiting.
		if sqliteCode(err)&0xff == sqlite3.SQLITE_BUSY && busy < 50 {
			busy++
			time.Sleep(20 * time.Millisecond)
			continue
		}
		if err != nil || !more {
			return err
		}
		if x.bg.halted() {
			return nil
		}
	}
}

// step runs one indexer transaction: at most indexChunk new objects, and the deletions
// queued. It reports whether more objects remain.
func (x *indexer) step(ctx context.Context) (more bool, err error) {
	conn, err := x.db.Conn(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	// A deferred BEGIN: IMMEDIATE would take the write lock of the attached database too,
	// and stall its writer. The first INSERT takes the search file's alone.
	if _, err := conn.ExecContext(ctx, "BEGIN"); err != nil {
		return false, err
	}
	defer func() {
		if err != nil {
			_, _ = conn.ExecContext(context.Background(), "ROLLBACK")
		}
	}()
	// Every read below is of one snapshot of the database: an object deleted in it is
	// absent from objects and present in search_deleted, never neither.
	var indexed, lastOid int64
	if err := conn.QueryRowContext(ctx, "SELECT indexed FROM search_state").Scan(&indexed); err != nil {
		return false, err
	}
	if err := conn.QueryRowContext(ctx, "SELECT last_oid FROM store.clock").Scan(&lastOid); err != nil {
		return false, err
	}
	upTo := min(lastOid, indexed+indexChunk)
	if upTo > indexed {
		if _, err := conn.ExecContext(ctx, `INSERT INTO fts (rowid, name, description)
			SELECT oid, name, description FROM store.objects
			WHERE oid > ? AND oid <= ? AND (name <> '' OR description <> '')`, indexed, upTo); err != nil {
			return false, err
		}
		if _, err := conn.ExecContext(ctx, "UPDATE search_state SET indexed = ?", upTo); err != nil {
			return false, err
		}
	}
	var gone []any
	rows, err := conn.QueryContext(ctx, "SELECT oid FROM store.search_deleted ORDER BY oid LIMIT ?", indexChunk)
	if err != nil {
		return false, err
	}
	for rows.Next() {
		var oid int64
		if err := rows.Scan(&oid); err != nil {
			rows.Close()
			return false, err
		}
		gone = append(gone, oid)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return false, err
	}
	for _, oid := range gone {
		if _, err := conn.ExecContext(ctx, "DELETE FROM fts WHERE rowid = ?", oid); err != nil {
			return false, fmt.Errorf("unindex %d: %w", oid, err)
		}
	}
	// Every commit names the trail it read, deletions too: a backup taken before a
	// deletion and restored after it holds an object this index no longer does.
	if _, err := conn.ExecContext(ctx, `INSERT OR REPLACE INTO search_trail (one, seq, hash)
		SELECT 1, seq, hash FROM store.audit_records ORDER BY seq DESC LIMIT 1`); err != nil {
		return false, err
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return false, err
	}
	x.indexed.Store(max(indexed, upTo))
	if len(gone) > 0 {
		// The index no longer holds them: empty the queue, through the database's
		// writer. A crash before this only deletes them again.
		if _, err := x.s.w.ExecContext(ctx, "DELETE FROM search_deleted WHERE oid <= ?", gone[len(gone)-1]); err != nil {
			return false, fmt.Errorf("search deletions: %w", err)
		}
	}
	return upTo < lastOid || len(gone) == indexChunk, nil
}

// catchUp returns once every object committed before the call is indexed.
func (x *indexer) catchUp(ctx context.Context) error {
	if x == nil {
		return errors.New("store closed")
	}
	var lastOid int64
	if err := x.s.r.QueryRowContext(ctx, "SELECT last_oid FROM clock").Scan(&lastOid); err != nil {
		return err
	}
	if x.indexed.Load() >= lastOid {
		return nil
	}
	return x.pass(ctx)
}

// close stops the indexer and folds the search file's WAL into it.
func (x *indexer) close() error {
	x.bg.halt()
	x.mu.Lock() // a pass of Search may be running
	defer x.mu.Unlock()
	var errs []error
	if _, err := x.db.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		errs = append(errs, err)
	}
	errs = append(errs, x.db.Close())
	return errors.Join(errs...)
}
