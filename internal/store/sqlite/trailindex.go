package sqlite

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"quadshare/internal/audit"
	"quadshare/internal/store"
)

// trailIndex fills the two indexes of the audit trail that the web pages read,
// after the records are appended rather than in the statement that appends
// them, so that a page read through the gate writes its one or two records and
// nothing else:
//   - audit_disclosed_runs, the disclosure records naming each object (an
//     object's page shows who received it);
//   - audit_tally, the records and objects per actor, minute, kind and rule (the
//     dashboard's traffic with each partner).
//
// Both live in a file of their own next to the database (path + trailSuffix),
// written through its own connection, with the database attached to read the
// records: a pass of a second's records takes a tenth of a second and more,
// and in the database it held the single writer that long, stalling every
// Put and every read through the gate (which appends its disclosure) behind
// it, and each of its commits emptied the readers' page caches. The file is
// derived, like the search file: lost, or of another trail than the
// database's (a database restored from a backup, or copied over this one: the
// record it was indexed up to is not there, or has another hash), it is rebuilt
// from the first record.
//
// It runs shortly after appends and before a reader of either (catchUp), so
// that a reader never misses a record. Records are noted as they are appended
// (note, which asks for a pass), so that a pass need not read them back;
// a note is used only if the record's hash matches it (a record noted in a
// transaction that was rolled back has a different hash, or none), and what
// was not noted (before a restart, or while the notes were full) is read from
// the trail.
type trailIndex struct {
	s       *Store
	db      *sql.DB    // one connection: the trail file, with the database attached as "store"
	insRun  *rawStmt   // on db's connection: one row of audit_disclosed_runs
	mu      sync.Mutex // one pass at a time
	closed  bool       // under mu
	closing sync.Once
	bg      *passes

	nmu   sync.Mutex
	notes notes // under nmu: noted since the last step took them

	taken notes // under mu: taken from notes, not yet indexed
}

// notes are records noted and not yet indexed.
type notes struct {
	keys []keySeq           // the objects each disclosure names
	recs map[int64]noteRefs // by seq
}

// noteRefs is what a pass needs of a record's objects.
type noteRefs struct {
	hash audit.Hash // of the record noted
	keys int        // distinct objects, in keys (disclosures only)
	refs int        // object versions
}

// keySeq is one object, by store.DisclosedKey, named by disclosure record seq.
type keySeq struct{ key, seq int64 }

// trailChunk bounds the records, trailRows the noted objects and trailUnread
// the records read back (a receipt of a large Put names every object it
// stored), indexed by one transaction of the index, so that a step's memory
// stays bounded; maxNoted bounds the objects noted between two passes (16
// bytes each).
//
// A pass waits trailDelay after a wake, longer than the search file's, and a
// step takes up to a million objects: a step's keys fall all over the index,
// so that each step writes most of its pages again, whatever the number of
// keys. A walk of 1,000,000 objects in steps of 100,000 cost 4.3 µs an object,
// in steps of 1,000,000 2.2 µs (BenchmarkTrailIndex). Nothing waits for a pass:
// a reader of the index catches it up first (catchUp).
const (
	trailDelay  = 5 * time.Second
	trailChunk  = 10000
	trailRows   = 1 << 20
	trailUnread = 50
	maxNoted    = 1 << 21
)

const trailSuffix = "-trail"

const trailSchema = `
CREATE TABLE IF NOT EXISTS audit_disclosed_runs (
    idh   INTEGER NOT NULL,  -- store.DisclosedKey of the object's id
    last  INTEGER NOT NULL,  -- the newest record of the run
    steps BLOB,              -- the others, newest first, as uvarint differences
    PRIMARY KEY (idh, last)
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS audit_tally (
    actor   TEXT NOT NULL,
    minute  INTEGER NOT NULL,
    kind    TEXT NOT NULL,
    rule    TEXT NOT NULL,
    records INTEGER NOT NULL,
    objects INTEGER NOT NULL,
    PRIMARY KEY (actor, minute, kind, rule)
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS audit_indexed_upto (
    one  INTEGER PRIMARY KEY CHECK (one = 1),
    seq  INTEGER NOT NULL,   -- every record up to this one is indexed
    hash BLOB                -- the hash of record seq: the trail indexed has it there
);
INSERT OR IGNORE INTO audit_indexed_upto (one, seq) VALUES (1, 0);`

// trailFileVersion is the schema version of the trail file (its user_version):
// a file of another version is rebuilt.
const trailFileVersion = 2

// openTrailIndex opens (creating when needed) the trail file of s and starts
// the index, which first catches up with what was appended while it was not
// running.
func (s *Store) openTrailIndex(ctx context.Context, dsn string) error {
	db, err := s.openDerived(ctx, dsn)
	if err != nil {
		return fmt.Errorf("audit trail index: %w", err)
	}
	fail := func(err error) error {
		_ = db.Close()
		return fmt.Errorf("audit trail index: %w", err)
	}
	var version int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fail(err)
	}
	reset := ""
	if version != trailFileVersion {
		reset = `DROP TABLE IF EXISTS audit_disclosed_runs; DROP TABLE IF EXISTS audit_tally;
			DROP TABLE IF EXISTS audit_indexed_upto;` + fmt.Sprintf("PRAGMA user_version = %d;", trailFileVersion)
	}
	if err := execTx(ctx, db, reset+trailSchema); err != nil {
		return fail(err)
	}
	// An index of records the trail does not hold, or holds with another hash,
	// belongs to another copy of it (a database restored from a backup, or copied
	// over this one): start it over.
	var same bool
	if err := db.QueryRowContext(ctx, `SELECT u.seq = 0 OR r.hash IS u.hash
		FROM audit_indexed_upto u LEFT JOIN store.audit_records r ON r.seq = u.seq`).Scan(&same); err != nil {
		return fail(err)
	}
	if !same {
		if err := execTx(ctx, db, `DELETE FROM audit_disclosed_runs; DELETE FROM audit_tally; UPDATE audit_indexed_upto SET seq = 0, hash = NULL`); err != nil {
			return fail(err)
		}
	}
	x := &trailIndex{s: s, db: db, insRun: &rawStmt{query: insDisclosed}}
	s.ti = x
	// A failure is retried at the next wake; catchUp reports it.
	x.bg = startPasses(trailDelay, func() { _ = x.pass(context.Background()) })
	return nil
}

// note records what a pass needs of recs, which were just appended, and asks
// for a pass.
func (x *trailIndex) note(recs []audit.Record) {
	if x == nil {
		return
	}
	x.nmu.Lock()
	n := &x.notes
	for i := range recs {
		r := &recs[i]
		if len(n.keys)+len(r.Objects) > maxNoted {
			break // the pass reads the rest from the trail
		}
		if n.recs == nil {
			n.recs = make(map[int64]noteRefs)
		}
		k := len(n.keys)
		if r.Kind == audit.Disclosure {
			store.EachDisclosedKey(r.Objects, func(key int64) { n.keys = append(n.keys, keySeq{key, r.Seq}) })
		}
		n.recs[r.Seq] = noteRefs{hash: r.Hash, keys: len(n.keys) - k, refs: len(r.Objects)}
	}
	x.nmu.Unlock()
	x.bg.wake()
}

// pass indexes every record appended so far. It waits for a pass already
// running (one after an upgrade may take minutes) only as long as ctx allows.
func (x *trailIndex) pass(ctx context.Context) error {
	for !x.mu.TryLock() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	defer x.mu.Unlock()
	if x.closed {
		return errors.New("store closed")
	}
	for {
		more, err := x.step(ctx)
		if err != nil || !more || x.bg.halted() {
			return err
		}
	}
}

// take moves the notes taken since the last step to x.taken.
func (x *trailIndex) take() {
	t := &x.taken
	x.nmu.Lock()
	defer x.nmu.Unlock()
	t.keys = append(t.keys, x.notes.keys...)
	x.notes.keys = x.notes.keys[:0]
	if t.recs == nil {
		t.recs = make(map[int64]noteRefs)
	}
	maps.Copy(t.recs, x.notes.recs)
	clear(x.notes.recs)
}

// tallyKey is a row of audit_tally.
type tallyKey struct {
	actor      string
	minute     int64
	kind, rule string
}

// step indexes the next trailChunk records, in one transaction of the writer,
// and reports whether records remain. The records of one step that name an
// object become one row of audit_disclosed_runs: a page read again and again
// (a partner polling a collection) adds a row per object per pass, not per
// read. The noted records it indexes leave x.taken once it commits.
func (x *trailIndex) step(ctx context.Context) (more bool, err error) {
	x.take()
	taken := &x.taken
	conn, err := x.db.Conn(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer func() { _ = tx.Rollback() }()
	// The write comes first, so that the trail file's write lock is held from
	// here on (another process indexing the same trail waits for it); the
	// transaction is deferred, and so never takes the database's.
	var upto int64
	if err := tx.QueryRowContext(ctx, `UPDATE audit_indexed_upto SET seq = seq RETURNING seq`).Scan(&upto); err != nil {
		return false, fmt.Errorf("audit trail index: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT seq, kind, actor, rule, time_us, hash FROM store.audit_records WHERE seq > ? ORDER BY seq LIMIT ?`, upto, trailChunk)
	if err != nil {
		return false, fmt.Errorf("audit trail index: %w", err)
	}
	tally := map[tallyKey][2]int64{} // records, objects
	type unreadRec struct {
		seq        int64
		disclosure bool
		key        tallyKey
	}
	var unread []unreadRec
	noted := map[int64]bool{} // the records whose notes are used
	n, last, objs := 0, upto, 0
	var hash []byte // of record last
	for objs < trailRows && len(unread) < trailUnread && rows.Next() {
		var k tallyKey
		var us int64
		if err := rows.Scan(&last, &k.kind, &k.actor, &k.rule, &us, &hash); err != nil {
			rows.Close()
			return false, fmt.Errorf("audit trail index: %w", err)
		}
		n++
		k.minute = minuteOf(us)
		if r, ok := taken.recs[last]; ok && bytes.Equal(hash, r.hash[:]) {
			noted[last] = true
			objs += r.keys
			c := tally[k]
			tally[k] = [2]int64{c[0] + 1, c[1] + int64(r.refs)}
		} else {
			unread = append(unread, unreadRec{last, k.kind == string(audit.Disclosure), k})
		}
	}
	if err := rows.Close(); err != nil {
		return false, fmt.Errorf("audit trail index: %w", err)
	}
	if n == 0 {
		return false, nil
	}
	var named []keySeq // each object named by each record, in any order
	if len(unread) > 0 {
		// Read back the records not noted, a statement each: a receipt of a
		// large Put lists every object it stored.
		for _, u := range unread {
			var objects string
			if err := tx.QueryRowContext(ctx, `SELECT objects FROM store.audit_records WHERE seq = ?`, u.seq).Scan(&objects); err != nil {
				return false, fmt.Errorf("audit trail index: record %d: %w", u.seq, err)
			}
			refs := decodeRefs(objects)
			c := tally[u.key]
			tally[u.key] = [2]int64{c[0] + 1, c[1] + int64(len(refs))}
			if !u.disclosure {
				continue
			}
			store.EachDisclosedKey(refs, func(key int64) { named = append(named, keySeq{key, u.seq}) })
		}
	}
	// The noted disclosures up to last, in the order they were appended. A
	// record noted twice under one seq (the first rolled back) leaves keys of
	// both: the extra ones are told apart when read, as shared keys are.
	for _, k := range taken.keys {
		if k.seq <= last && noted[k.seq] {
			named = append(named, k)
		}
	}
	if len(named) > 0 {
		if err := x.insertRuns(ctx, conn, named); err != nil {
			return false, fmt.Errorf("audit trail index: records %d to %d: %w", upto+1, last, err)
		}
	}
	if _, err := tx.ExecContext(ctx, addTally, encodeTally(tally)); err != nil {
		return false, fmt.Errorf("audit trail index: records %d to %d: %w", upto+1, last, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE audit_indexed_upto SET seq = ?, hash = ?`, last, hash); err != nil {
		return false, fmt.Errorf("audit trail index: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return false, err // the notes stay for the next step
	}
	taken.keys = slices.DeleteFunc(taken.keys, func(k keySeq) bool { return k.seq <= last })
	maps.DeleteFunc(taken.recs, func(seq int64, _ noteRefs) bool { return seq <= last })
	return n == trailChunk || objs >= trailRows || len(unread) == trailUnread, nil
}

// A run, and the tally of a step (one statement however many rows). The key of
// a run is a hash of the id, which never changes, whatever is deleted
// later; the reader drops a record that does not name its object, so a hash
// shared by two ids costs a lookup, never a wrong answer.
const (
	insDisclosed = `INSERT INTO audit_disclosed_runs (idh, last, steps) VALUES (?, ?, ?)`
	addTally     = `INSERT INTO audit_tally (actor, minute, kind, rule, records, objects)
		SELECT j.value->>0, j.value->>1, j.value->>2, j.value->>3, j.value->>4, j.value->>5 FROM json_each(?) j WHERE true
		ON CONFLICT (actor, minute, kind, rule) DO UPDATE SET records = records + excluded.records, objects = objects + excluded.objects`
)

// minuteOf is the minute of audit_tally of a record's time_us.
func minuteOf(us int64) int64 {
	m := us / 60e6
	if us < 0 && us%60e6 != 0 {
		m--
	}
	return m
}

// encodeTally writes tally as the JSON array that addTally reads.
func encodeTally(tally map[tallyKey][2]int64) string {
	rows := make([][6]any, 0, len(tally))
	for k, c := range tally {
		rows = append(rows, [6]any{k.actor, k.minute, k.kind, k.rule, c[0], c[1]})
	}
	b, _ := json.Marshal(rows) // strings and numbers always marshal
	return string(b)
}

// insertRuns inserts the runs of named, one per object key, in the transaction
// open on conn, in key order so that the inserts walk the index's pages in
// order. One statement per run, on the driver's connection: a statement of all
// the runs (json_each) spent more time parsing its argument, and in its
// statement journal, than inserting.
func (x *trailIndex) insertRuns(ctx context.Context, conn *sql.Conn, named []keySeq) error {
	slices.SortFunc(named, func(a, b keySeq) int { return cmp.Or(cmp.Compare(a.key, b.key), cmp.Compare(a.seq, b.seq)) })
	named = slices.Compact(named) // keys of a record noted twice under one seq
	return rawInTx(ctx, conn, func(dc any) error {
		st, err := x.insRun.on(dc)
		if err != nil {
			return err
		}
		args := []driver.NamedValue{{Ordinal: 1}, {Ordinal: 2}, {Ordinal: 3}}
		var steps []byte
		for i := 0; i < len(named); {
			end := i + 1
			for end < len(named) && named[end].key == named[i].key {
				end++
			}
			steps = appendSteps(steps[:0], named[i:end])
			args[0].Value, args[1].Value, args[2].Value = named[i].key, named[end-1].seq, nil
			if len(steps) > 0 {
				args[2].Value = steps
			}
			if _, err := st.ExecContext(context.Background(), args); err != nil {
				return err
			}
			i = end
		}
		return nil
	})
}

// appendSteps appends to b the steps of a run, records of ascending seq: its
// other records, newest first, as uvarint steps down from its last.
func appendSteps(b []byte, run []keySeq) []byte {
	for j := len(run) - 1; j > 0; j-- {
		b = binary.AppendUvarint(b, uint64(run[j].seq-run[j-1].seq))
	}
	return b
}

// decodeRun appends to seqs, newest first, the records of a run that ends at
// last, until seqs holds limit; it stops at a malformed step.
func decodeRun(seqs []int64, last int64, steps []byte, limit int) []int64 {
	for len(seqs) < limit {
		seqs = append(seqs, last)
		d, n := binary.Uvarint(steps)
		if n <= 0 || d == 0 || int64(d) >= last {
			break
		}
		last -= int64(d)
		steps = steps[n:]
	}
	return seqs
}

// catchUp returns once every record appended before the call is indexed.
func (x *trailIndex) catchUp(ctx context.Context) error {
	if x == nil {
		return errors.New("store closed")
	}
	var last, upto int64
	if err := x.s.r.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0), (SELECT seq FROM audit_indexed_upto) FROM audit_records`).Scan(&last, &upto); err != nil {
		return fmt.Errorf("audit trail index: %w", err)
	}
	if upto >= last {
		return nil
	}
	return x.pass(ctx)
}

// close stops the index, once, and folds the trail file's WAL into it; what it
// has not indexed is indexed after the next open.
func (x *trailIndex) close() error {
	var err error
	x.closing.Do(func() {
		x.bg.halt()
		x.mu.Lock() // a pass of AuditDisclosures may be running
		x.closed = true
		x.mu.Unlock()
		_, cerr := x.db.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
		err = errors.Join(cerr, x.insRun.close(x.db), x.db.Close())
	})
	return err
}
