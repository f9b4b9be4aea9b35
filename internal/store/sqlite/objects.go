package sqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"

	"quadshare/internal/par"
	"quadshare/internal/stix"
	"quadshare/internal/store"
)

// Bounds on what one call may ask for.
const (
	maxLimit        = 10000 // entries in one page or search
	defaultLimit    = 100   // when a query gives no limit
	maxFilterValues = store.MaxFilterValues
	maxSearchWords  = 16
	maxWordLen      = 100
	maxTypeArms     = 16 // match[type] values read as merged index scans; beyond, a filter
)

func (s *Store) prepare(ctx context.Context) error {
	var err error
	prep := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		st, err = s.w.PrepareContext(ctx, q)
		return st
	}
	s.insObject = &rawStmt{query: `INSERT INTO objects (oid, idh, id, version, type, spec_version, created, modified, revoked, name, description, hash, raw)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`}
	s.insEntry = prep(`INSERT INTO entries (cid, date_added, oid, type, submitter, is_last) VALUES (?, ?, ?, ?, ?, ?)`)
	// The entries of the objects ?3 to ?4 that a Put has just stored, from date_added ?2
	// up, in oid order (writeEntries).
	s.insEntryRun = prep(`INSERT INTO entries (cid, date_added, oid, type, submitter, is_last)
		SELECT ?1, ?2 + (oid - ?3), oid, type, ?5, 1 FROM objects WHERE oid BETWEEN ?3 AND ?4 ORDER BY oid`)
	// The newest version of an object in a collection, kept in entries.is_last so that
	// match[version]=last, the default of every TAXII read, costs no subquery per row.
	// CROSS JOIN keeps objects the outer loop (SQLite does not reorder it): the few
	// versions of one id, then their entry in the collection, never a collection scan.
	s.selLatest = prep(`SELECT o.id, o.version, e.date_added FROM objects o CROSS JOIN entries e ON e.oid = o.oid AND e.cid = ?
		WHERE o.oid IN (SELECT oid FROM object_ids_all WHERE idh IN (` + placeholders(latestChunk) + `)) AND e.is_last`)
	s.selStored = prep(`SELECT oid, id, version, hash FROM objects
		WHERE oid IN (SELECT oid FROM object_ids_all WHERE idh IN (` + placeholders(latestChunk) + `))`)
	// The ids of the objects ?1 (excluded) to ?2 that a Put has just stored.
	s.insIDs = prep(`INSERT OR IGNORE INTO object_ids_new (idh, oid) SELECT idh, oid FROM objects WHERE oid > ? AND oid <= ?`)
	s.clearLatest = prep(`UPDATE entries SET is_last = 0 WHERE cid = ? AND date_added = ?`)
	s.selEntry = prep(`SELECT date_added FROM entries WHERE oid = ? AND cid = ?`)
	for i, n := range enqueueRows {
		s.insOutbox[i] = prep(`INSERT INTO outbox (peer, seq, object_id, version, queued_at, raw) VALUES (?, ?, ?, ?, ?, ?)` +
			strings.Repeat(`, (?, ?, ?, ?, ?, ?)`, n-1) + ` ON CONFLICT (peer, object_id, version) DO NOTHING RETURNING seq`)
	}
	if err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	return nil
}

// queryer is what both *sql.DB and *sql.Tx offer.
type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// collectionID returns the internal key of the collection with this id or alias.
func collectionID(ctx context.Context, q queryer, idOrAlias string) (int64, error) {
	var cid int64
	err := q.QueryRowContext(ctx,
		`SELECT cid FROM collections WHERE id = ?1
		 UNION ALL SELECT cid FROM collections WHERE alias = ?1 LIMIT 1`, idOrAlias).Scan(&cid)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("collection %q: %w", idOrAlias, store.ErrNotFound)
	}
	if err != nil {
		return 0, fmt.Errorf("collection %q: %w", idOrAlias, err)
	}
	return cid, nil
}

// CreateCollection creates c; ErrExists when its id or alias is taken (as an id or an alias).
func (s *Store) CreateCollection(ctx context.Context, c store.Collection) error {
	if c.ID == "" {
		return errors.New("sqlite: create collection: empty id")
	}
	if c.MediaTypes == nil {
		c.MediaTypes = []string{}
	}
	media, err := json.Marshal(c.MediaTypes)
	if err != nil {
		return fmt.Errorf("sqlite: create collection %s: %w", c.ID, err)
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = time.Now()
	}
	var alias any
	if c.Alias != "" {
		alias = c.Alias
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: create collection %s: %w", c.ID, err)
	}
	defer func() { _ = tx.Rollback() }()
	var taken int
	if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM collections WHERE id IN (?1, ?2) OR alias IN (?1, ?2)`,
		c.ID, alias).Scan(&taken); err != nil {
		return fmt.Errorf("sqlite: create collection %s: %w", c.ID, err)
	}
	if taken > 0 {
		return fmt.Errorf("sqlite: create collection %s: %w", c.ID, store.ErrExists)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO collections (id, alias, title, description, media_types, owner_org, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, c.ID, alias, c.Title, c.Description, string(media), c.OwnerOrg, dbTime(c.CreatedAt))
	if isUnique(err) {
		return fmt.Errorf("sqlite: create collection %s: %w", c.ID, store.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("sqlite: create collection %s: %w", c.ID, err)
	}
	if err := s.auditCollection(ctx, tx, c); err != nil {
		return fmt.Errorf("sqlite: create collection %s: %w", c.ID, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: create collection %s: %w", c.ID, err)
	}
	return nil
}

const collectionColumns = `id, coalesce(alias, ''), title, description, media_types, owner_org, created_at`

type scanner interface{ Scan(dest ...any) error }

func scanCollection(sc scanner) (store.Collection, error) {
	var c store.Collection
	var media, created string
	if err := sc.Scan(&c.ID, &c.Alias, &c.Title, &c.Description, &media, &c.OwnerOrg, &created); err != nil {
		return c, err
	}
	if err := json.Unmarshal([]byte(media), &c.MediaTypes); err != nil {
		return c, fmt.Errorf("media types of %s: %w", c.ID, err)
	}
	var err error
	c.CreatedAt, err = parseTime(created)
	return c, err
}

// Collection returns the collection with this id, else with this alias.
func (s *Store) Collection(ctx context.Context, idOrAlias string) (store.Collection, error) {
	row := s.r.QueryRowContext(ctx, `SELECT `+collectionColumns+` FROM collections WHERE id = ?1
		UNION ALL SELECT `+collectionColumns+` FROM collections WHERE alias = ?1 LIMIT 1`, idOrAlias)
	c, err := scanCollection(row)
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("sqlite: collection %q: %w", idOrAlias, store.ErrNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("sqlite: collection %q: %w", idOrAlias, err)
	}
	return c, nil
}

// Collections lists every collection in creation order (TAXII 2.1 §3.3: a consistent order).
func (s *Store) Collections(ctx context.Context) ([]store.Collection, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+collectionColumns+` FROM collections ORDER BY cid`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: collections: %w", err)
	}
	defer rows.Close()
	var out []store.Collection
	for rows.Next() {
		c, err := scanCollection(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: collections: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: collections: %w", err)
	}
	return out, nil
}

// Put adds objs to the collection in one transaction. Each object is looked up by
// (id, version): a new one is stored and added; a stored one with the same meaning
// is added to this collection, or is a Duplicate when already there; a stored one
// with another meaning is a Conflict and changes nothing. The same meaning is the
// same compact JSON as received (equal SHA-256), or else the same canonical JSON
// (sameMeaning): members in another order, numbers or strings written otherwise.
//
// date_added is max(now, last+1µs) and counts up by 1µs per entry, with last kept in
// the database: strictly increasing across every Put of this database, whatever the
// wall clock does. Because the single writer assigns it inside the transaction, an
// entry is never committed with a date_added below one already visible, so a reader
// paging with AddedAfter never skips an entry committed later.
func (s *Store) Put(ctx context.Context, collection, submitter string, objs []stix.Object) ([]store.PutResult, error) {
	// database/sql rolls the transaction back when ctx ends, and closes its
	// statements, so that the statement after fails: what stopped the Put is ctx.
	res, err := s.put(ctx, collection, submitter, objs)
	return res, store.Stopped(ctx, err)
}

func (s *Store) put(ctx context.Context, collection, submitter string, objs []stix.Object) ([]store.PutResult, error) {
	for i := range objs {
		o := &objs[i]
		if o.ID == "" || o.Type == "" || len(o.Raw) == 0 {
			return nil, fmt.Errorf("sqlite: put: object %d lacks an id, a type or its JSON", i)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: put: %w", err)
	}
	rows := derive(objs) // before the transaction, on every core
	// The writer's one connection, held for the transaction: the objects are inserted
	// on it below database/sql (insertObjects).
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqlite: put: %w", err)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("sqlite: put: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	cid, err := collectionID(ctx, tx, collection)
	if err != nil {
		return nil, fmt.Errorf("sqlite: put: %w", err)
	}
	var last, lastOid, merged int64
	if err := tx.QueryRowContext(ctx, `SELECT last, last_oid, ids_merged FROM clock WHERE one = 1`).Scan(&last, &lastOid, &merged); err != nil {
		return nil, fmt.Errorf("sqlite: put: clock: %w", err)
	}
	next := max(s.now().UnixMicro(), last+1)
	first, firstOid := next, lastOid

	// The statements run with a background context: a context that can be cancelled
	// costs a watcher per statement. Cancellation is checked between objects instead,
	// and the transaction itself is rolled back by database/sql when ctx ends.
	bg := context.Background()
	insEntry := tx.StmtContext(bg, s.insEntry)
	selEntry, clearLatest := tx.StmtContext(bg, s.selEntry), tx.StmtContext(bg, s.clearLatest)
	filter, err := s.idFilterFor(tx, lastOid)
	if err != nil {
		return nil, fmt.Errorf("sqlite: put: id filter: %w", err)
	}
	latest, stored, err := s.lookUp(tx.StmtContext(bg, s.selLatest), tx.StmtContext(bg, s.selStored), cid, objs, rows, filter)
	if err != nil {
		return nil, fmt.Errorf("sqlite: put: %w", err)
	}

	res := make([]store.PutResult, len(objs))
	// The entries are written after the loop (writeEntries): an entry of this Put is
	// found in added, not in the table, and one that a later version of its object in
	// this Put supersedes is flagged here.
	var pending []pendingEntry // in date_added order: pending[k] has first+k
	added := make(map[int64]int64)
	var fresh []int // the objects to store, in oid order from firstOid+1
	for i := range objs {
		if i%128 == 127 {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("sqlite: put: %w", err)
			}
		}
		o, row := &objs[i], &rows[i]
		key, sum := row.key, row.sum
		vkey := versionKey{o.ID, key}
		have, ok := stored[vkey]
		oid := have.oid
		if !ok {
			lastOid++
			oid = lastOid
			fresh = append(fresh, i)
			stored[vkey] = storedVersion{oid: oid, hash: sum}
		} else {
			if have.hash != sum {
				var earlier []byte // the object stored, when it is one of this Put
				if have.oid > firstOid {
					earlier = objs[fresh[have.oid-firstOid-1]].Raw
				}
				same, err := sameMeaning(ctx, tx, have.oid, earlier, o.Raw)
				if err != nil {
					return nil, fmt.Errorf("sqlite: put %s: %w", o.ID, err)
				}
				if !same {
					res[i] = store.PutResult{Outcome: store.Conflict}
					continue
				}
			}
			if at, ok := added[oid]; ok {
				res[i] = store.PutResult{Outcome: store.Duplicate, DateAdded: fromMicros(at)}
				continue
			}
			if oid <= firstOid { // stored before this Put: it may be in the collection
				var at int64
				err := selEntry.QueryRowContext(bg, oid, cid).Scan(&at)
				if err == nil {
					res[i] = store.PutResult{Outcome: store.Duplicate, DateAdded: fromMicros(at)}
					continue
				}
				if !errors.Is(err, sql.ErrNoRows) {
					return nil, fmt.Errorf("sqlite: put %s: %w", o.ID, err)
				}
			}
		}
		cur, known := latest[o.ID]
		isLast := !known || key > cur.version
		if isLast && known {
			if cur.added >= first { // an entry of this Put, not written yet
				pending[cur.added-first].superseded = true
			} else if _, err := clearLatest.ExecContext(bg, cid, cur.added); err != nil {
				return nil, fmt.Errorf("sqlite: put %s: latest version: %w", o.ID, err)
			}
		}
		if isLast {
			latest[o.ID] = latestEntry{version: key, added: next}
		}
		pending = append(pending, pendingEntry{oid: oid, typ: o.Type, superseded: !isLast})
		added[oid] = next
		res[i] = store.PutResult{Outcome: store.Added, DateAdded: fromMicros(next)}
		next++
	}
	if err := s.insertObjects(ctx, conn, objs, rows, fresh, firstOid); err != nil {
		return nil, fmt.Errorf("sqlite: put: %w", err)
	}
	for _, i := range fresh { // in the filter from now on, even if this Put fails
		filter.add(rows[i].idh)
	}
	if err := writeEntries(tx, insEntry, tx.StmtContext(bg, s.insEntryRun), clearLatest, cid, submitter, first, firstOid, pending); err != nil {
		return nil, fmt.Errorf("sqlite: put: entries: %w", err)
	}
	if lastOid > firstOid {
		if merged, err = s.indexIDs(tx, firstOid, lastOid, merged); err != nil {
			return nil, fmt.Errorf("sqlite: put: ids: %w", err)
		}
	}
	if next > first || lastOid > firstOid {
		if _, err := tx.ExecContext(bg, `UPDATE clock SET last = ?, last_oid = ?, ids_merged = ? WHERE one = 1`, next-1, lastOid, merged); err != nil {
			return nil, fmt.Errorf("sqlite: put: clock: %w", err)
		}
	}
	if err := s.auditPut(ctx, tx, cid, submitter, objs, res); err != nil {
		return nil, fmt.Errorf("sqlite: put: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: put: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("sqlite: put: commit: %w", err)
	}
	if filter != nil {
		filter.upto = lastOid
	}
	if lastOid > firstOid {
		s.idx.wake() // index the text of the new objects, after the commit
	}
	return res, nil
}

// defaultMergeIDs is how many objects gather in object_ids_new before it is moved
// into object_ids (indexIDs): few enough that a batch of new ids dirties few of its
// pages, enough that a move writes each page of object_ids for many keys.
const defaultMergeIDs = 32768

// indexIDs adds the ids of the objects firstOid+1 to lastOid, just stored, to
// object_ids_new, and moves that table into object_ids once s.mergeIDs objects
// have been stored since the last move (merged, the last oid then). It returns the
// last oid of the last move.
//
// object_ids is keyed by the random part of STIX ids: an insert there dirties a
// page of its own for nearly every object, which the commit then writes whole (at
// a million objects, a batch of 500 wrote some 500 pages of it). object_ids_new
// stays a few hundred pages, so a batch dirties few; the move walks it in key
// order and writes each page of object_ids once for all the keys it receives.
func (s *Store) indexIDs(tx *sql.Tx, firstOid, lastOid, merged int64) (int64, error) {
	bg := context.Background()
	if _, err := tx.StmtContext(bg, s.insIDs).ExecContext(bg, firstOid, lastOid); err != nil {
		return 0, err
	}
	if lastOid-merged < s.mergeIDs {
		return merged, nil
	}
	if _, err := tx.ExecContext(bg, `INSERT OR IGNORE INTO object_ids (idh, oid) SELECT idh, oid FROM object_ids_new ORDER BY idh, oid`); err != nil {
		return 0, fmt.Errorf("merge: %w", err)
	}
	if _, err := tx.ExecContext(bg, `DELETE FROM object_ids_new`); err != nil {
		return 0, fmt.Errorf("merge: %w", err)
	}
	return lastOid, nil
}

// insertObjects inserts objs[i] for each i of fresh, with oids from firstOid+1, in the
// transaction open on conn. It runs the statement on the driver's connection directly:
// through database/sql, checking and converting the 13 arguments of every row, and
// the locks and bookkeeping of each execution, cost about 1.5 µs of the single
// writer's 26 per object in a bulk import. What remains is the driver's binding and
// SQLite's own work.
func (s *Store) insertObjects(ctx context.Context, conn *sql.Conn, objs []stix.Object, rows []row, fresh []int, firstOid int64) error {
	if len(fresh) == 0 {
		return nil
	}
	return rawInTx(ctx, conn, func(dc any) error {
		st, err := s.insObject.on(dc)
		if err != nil {
			return err
		}
		args := make([]driver.NamedValue, 13)
		for k := range args {
			args[k].Ordinal = k + 1
		}
		for k, i := range fresh {
			if k%128 == 127 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			o, row := &objs[i], &rows[i]
			for j, v := range [...]driver.Value{firstOid + int64(k) + 1, row.idh, o.ID, row.key, o.Type, o.SpecVersion,
				row.created, row.modified, o.Revoked, o.Name, o.Description, row.sum[:], o.Raw} {
				args[j].Value = v
			}
			if _, err := st.ExecContext(context.Background(), args); err != nil {
				return fmt.Errorf("%s: %w", o.ID, err)
			}
		}
		return nil
	})
}

// rawInTx runs f on the driver connection of conn, in the transaction begun on
// conn with ctx. database/sql rolls that transaction back when ctx ends, from
// its own goroutine, once the connection is free: a statement run on the
// driver's connection after that would be outside any transaction, and commit
// alone. f runs only if ctx is live when it has the connection; the rollback
// then waits for f.
func rawInTx(ctx context.Context, conn *sql.Conn, f func(dc any) error) error {
	return conn.Raw(func(dc any) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return f(dc)
	})
}

// rawStmt is a statement prepared on the driver connection of a pool of one: the
// writer's (insertObjects) or the trail index's (insertRuns). database/sql keeps
// that connection for the life of the store, but may replace it after an error;
// the statement is then prepared again on the new one.
type rawStmt struct {
	query string
	conn  any // the driver connection st was prepared on
	st    driver.StmtExecContext
}

// on returns the statement prepared on dc, preparing it when needed. Its caller holds
// the pool's one connection, so calls never overlap. A statement of a connection that
// was replaced is not used again.
func (r *rawStmt) on(dc any) (driver.StmtExecContext, error) {
	if r.conn == dc && r.st != nil {
		return r.st, nil
	}
	pc, ok := dc.(driver.ConnPrepareContext)
	if !ok {
		return nil, fmt.Errorf("sqlite driver connection %T cannot prepare", dc)
	}
	st, err := pc.PrepareContext(context.Background(), r.query)
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	ex, ok := st.(driver.StmtExecContext)
	if !ok {
		_ = st.Close()
		return nil, fmt.Errorf("sqlite driver statement %T cannot execute", st)
	}
	r.conn, r.st = dc, ex
	return ex, nil
}

// close closes the statement, on the connection of db, its pool.
func (r *rawStmt) close(db *sql.DB) error {
	if r.st == nil {
		return nil
	}
	conn, err := db.Conn(context.Background())
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(r.release)
}

// release closes the statement if it was prepared on dc, whose caller holds it.
func (r *rawStmt) release(dc any) error {
	st, on := r.st, r.conn
	if st == nil || dc != on { // prepared on a connection since replaced
		return nil
	}
	r.conn, r.st = nil, nil
	return st.(driver.Stmt).Close()
}

// pendingEntry is an entry that Put writes once its objects are decided.
type pendingEntry struct {
	oid        int64
	typ        string
	superseded bool // not the latest version of its object in the collection
}

// writeEntries writes the entries of a Put, pending[k] with date_added first+k. A run
// of entries for objects this Put stored, in the same order (consecutive oids above
// firstOid with consecutive date_added), is one INSERT ... SELECT from those objects
// (insEntryRun): per entry, no statement to run and nothing to bind, and cursors that
// stay at the end of the entries' indexes, where every key of the run goes. That was
// a third of the single writer's time in a bulk import. Other entries are inserted
// one by one; superseded ones then lose their is_last flag.
func writeEntries(tx *sql.Tx, insEntry, insEntryRun, clearLatest *sql.Stmt, cid int64, submitter string, first, firstOid int64, pending []pendingEntry) error {
	bg := context.Background()
	for k := 0; k < len(pending); {
		e := pending[k]
		end := k + 1
		if e.oid > firstOid {
			for end < len(pending) && pending[end].oid == e.oid+int64(end-k) {
				end++
			}
		}
		if end-k >= minEntryRun {
			if _, err := insEntryRun.ExecContext(bg, cid, first+int64(k), e.oid, pending[end-1].oid, submitter); err != nil {
				return err
			}
		} else {
			end = k + 1
			if _, err := insEntry.ExecContext(bg, cid, first+int64(k), e.oid, e.typ, submitter, !e.superseded); err != nil {
				return err
			}
		}
		for j := k; j < end; j++ {
			if pending[j].superseded && end-k >= minEntryRun {
				if _, err := clearLatest.ExecContext(bg, cid, first+int64(j)); err != nil {
					return fmt.Errorf("latest version: %w", err)
				}
			}
		}
		k = end
	}
	return nil
}

// minEntryRun is the shortest run of entries written with one INSERT ... SELECT.
const minEntryRun = 4

// row is what Put derives from an object to store it.
type row struct {
	idh               int64
	key               string // stix.Timestamp.Key() of the version
	sum               [sha256.Size]byte
	created, modified string
}

// sameMeaning reports whether raw, whose compact JSON differs from that of the
// object version stored under oid (earlier, when not nil, else read through tx),
// has the same canonical form: an object sent again by a client or a partner
// that writes its members in another order is an exact duplicate (TAXII 2.1 §5.5).
func sameMeaning(ctx context.Context, tx *sql.Tx, oid int64, earlier, raw []byte) (bool, error) {
	if earlier == nil {
		if err := tx.QueryRowContext(ctx, `SELECT raw FROM objects WHERE oid = ?`, oid).Scan(&earlier); err != nil {
			return false, err
		}
	}
	return stix.SameMeaning(earlier, raw), nil
}

// deriveChunk is the fewest objects worth a goroutine of derive.
const deriveChunk = 512

// derive computes the row of each object, on every core for a large batch: hashing and
// formatting were a tenth of the single writer's time, and need no transaction.
func derive(objs []stix.Object) []row {
	rows := make([]row, len(objs))
	par.Each(len(objs), deriveChunk, func(i int) {
		o := &objs[i]
		rows[i] = row{idh: idHash(o.ID), key: o.Version().Key(), sum: sha256.Sum256(o.Raw),
			created: o.Created.String(), modified: o.Modified.String()}
	})
	return rows
}

// latestChunk is the number of ids looked up by one execution of selLatest or selStored.
const latestChunk = 256

// latestEntry is the newest version of an object in a collection and its entry.
type latestEntry struct {
	version string // stix.Timestamp.Key()
	added   int64  // its date_added, the entry's key
}

// versionKey names one version of one object.
type versionKey struct{ id, version string }

// storedVersion is an object version already in the objects table.
type storedVersion struct {
	oid  int64
	hash [sha256.Size]byte
}

// idHash is the key of objects_idh: the first 8 bytes of SHA-256(id).
func idHash(id string) int64 {
	h := sha256.Sum256([]byte(id))
	return int64(binary.BigEndian.Uint64(h[:8]))
}

// lookUp reads, for the ids of objs, every stored version and the newest entry of each
// in collection cid, with one query of each kind per latestChunk ids rather than one per
// object. Only ids that filter may hold are looked up, and only ids with a stored
// version can have an entry, so the entries are looked up for those alone: in a bulk
// import most ids are new and cost no probe. Rows of other ids that share a hash are
// left out.
func (s *Store) lookUp(selLatest, selStored *sql.Stmt, cid int64, objs []stix.Object, derived []row, filter *idFilter) (map[string]latestEntry, map[versionKey]storedVersion, error) {
	want := make(map[string]bool, len(objs))
	for i := range objs {
		want[objs[i].ID] = true
	}
	latest := make(map[string]latestEntry)
	stored := make(map[versionKey]storedVersion, len(objs))
	args := make([]any, latestChunk)
	// chunks runs q over hashes, latestChunk at a time; a short last chunk repeats its
	// last hash.
	chunks := func(q *sql.Stmt, prefix []any, hashes []int64, f func(*sql.Rows) error) error {
		for start := 0; start < len(hashes); start += latestChunk {
			end := min(start+latestChunk, len(hashes))
			for k := range latestChunk {
				args[k] = hashes[min(start+k, end-1)]
			}
			if err := eachRow(q, append(prefix, args...), f); err != nil {
				return err
			}
		}
		return nil
	}
	hashes := make([]int64, 0, len(objs))
	for i := range derived {
		if filter.mayHave(derived[i].idh) {
			hashes = append(hashes, derived[i].idh)
		}
	}
	var found []int64 // hashes of the ids with a stored version
	seen := make(map[string]bool)
	err := chunks(selStored, nil, hashes, func(rows *sql.Rows) error {
		var v storedVersion
		var k versionKey
		var hash []byte
		if err := rows.Scan(&v.oid, &k.id, &k.version, &hash); err != nil {
			return err
		}
		if want[k.id] {
			copy(v.hash[:], hash)
			stored[k] = v
			if !seen[k.id] {
				seen[k.id] = true
				found = append(found, idHash(k.id))
			}
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("stored versions: %w", err)
	}
	err = chunks(selLatest, []any{cid}, found, func(rows *sql.Rows) error {
		var id string
		var e latestEntry
		if err := rows.Scan(&id, &e.version, &e.added); err != nil {
			return err
		}
		if want[id] {
			latest[id] = e
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("latest versions: %w", err)
	}
	return latest, stored, nil
}

// eachRow runs a query and calls f for each row.
func eachRow(st *sql.Stmt, args []any, f func(*sql.Rows) error) error {
	rows, err := st.QueryContext(context.Background(), args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := f(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// sqlBuilder accumulates a WHERE clause and its arguments.
type sqlBuilder struct {
	conds []string
	args  []any
}

func (b *sqlBuilder) add(cond string, args ...any) {
	b.conds = append(b.conds, cond)
	b.args = append(b.args, args...)
}

// in adds "col IN (?, ...)" for a non-empty list.
func (b *sqlBuilder) in(col string, vals []string) error {
	if len(vals) == 0 {
		return nil
	}
	if len(vals) > maxFilterValues {
		return fmt.Errorf("%d values for %s, at most %d", len(vals), col, maxFilterValues)
	}
	b.add(col+" IN ("+placeholders(len(vals))+")", anys(vals)...)
	return nil
}

// ids adds "o.id IN (...)", through objects_idh.
func (b *sqlBuilder) ids(ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	if len(ids) > maxFilterValues {
		return fmt.Errorf("%d ids, at most %d", len(ids), maxFilterValues)
	}
	hashes := make([]any, len(ids))
	for i, id := range ids {
		hashes[i] = idHash(id)
	}
	b.add("o.oid IN (SELECT oid FROM object_ids_all WHERE idh IN ("+placeholders(len(ids))+"))", hashes...)
	return b.in("o.id", ids)
}

func (b *sqlBuilder) where() string {
	if len(b.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(b.conds, " AND ")
}

func placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }

func anys(vals []string) []any {
	out := make([]any, len(vals))
	for i, v := range vals {
		out[i] = v
	}
	return out
}

// versions adds TAXII's match[version] (TAXII 2.1 §3.4.1) on entries e of objects o:
// the union of first, last and exact versions. "first" and "last" are per object among
// the versions in the same collection that pass the spec_version filter, that the
// submitter added (when set: an operator's "last" is its own latest version), and
// that were added up to upTo (when set, so that a paginated walk bound to a snapshot
// sees the snapshot's latest version even after a newer one arrives).
func (b *sqlBuilder) versions(v store.VersionFilter, specs []string, submitter string, upTo time.Time) error {
	if v.All {
		return nil
	}
	if len(v.Exact) > maxFilterValues {
		return fmt.Errorf("%d versions, at most %d", len(v.Exact), maxFilterValues)
	}
	last := v.Last || (!v.First && len(v.Exact) == 0)
	specCond := ""
	var specArgs []any
	if len(specs) > 0 {
		specCond = " AND o2.spec_version IN (" + placeholders(len(specs)) + ")"
		specArgs = anys(specs)
	}
	if !upTo.IsZero() {
		specCond += " AND x.date_added <= ?"
		specArgs = append(specArgs, micros(upTo))
	}
	if submitter != "" { // an operator's "last" is its own latest version
		specCond += " AND x.submitter = ?"
		specArgs = append(specArgs, submitter)
	}
	// Another version of the same object, in the same collection, before or after.
	// A join from the id tables, not o2.oid IN (...): SQLite would build the list
	// of the IN anew for every row of the outer query.
	other := func(cmp string) string {
		return `EXISTS (SELECT 1 FROM object_ids_all i CROSS JOIN objects o2 ON o2.oid = i.oid
			CROSS JOIN entries x ON x.oid = o2.oid AND x.cid = e.cid
			WHERE i.idh = o.idh AND o2.id = o.id AND o2.version ` + cmp + ` o.version` + specCond + `)`
	}
	var parts []string
	var args []any
	switch {
	case last && specCond == "":
		parts = append(parts, "e.is_last")
	case last: // the newest version now is the newest in any restriction too
		parts = append(parts, "e.is_last OR NOT "+other(">"))
		args = append(args, specArgs...)
	}
	if v.First {
		parts = append(parts, "NOT "+other("<"))
		args = append(args, specArgs...)
	}
	if len(v.Exact) > 0 {
		// An object without created or modified (an SCO) has its date_added for a
		// version (TAXII 2.1 §3.4.1: a value consistent to the server), as the
		// manifest and versions endpoints show it.
		keys, added := make([]any, len(v.Exact)), make([]any, len(v.Exact))
		for i, ts := range v.Exact {
			keys[i], added[i] = ts.Key(), micros(ts.Time())
		}
		parts = append(parts, "o.version IN ("+placeholders(len(keys))+")",
			"o.version = '' AND e.date_added IN ("+placeholders(len(added))+")")
		args = append(append(args, keys...), added...)
	}
	b.add("("+strings.Join(parts, " OR ")+")", args...)
	return nil
}

const entryColumns = `e.date_added, e.submitter, o.id, o.type, o.spec_version, o.created, o.modified, o.revoked, o.name, o.description, o.raw`

func scanEntry(sc scanner) (store.Entry, error) {
	var e store.Entry
	var added int64
	var created, modified string
	o := &e.Object
	if err := sc.Scan(&added, &e.Submitter, &o.ID, &o.Type, &o.SpecVersion, &created, &modified, &o.Revoked,
		&o.Name, &o.Description, &o.Raw); err != nil {
		return e, err
	}
	e.DateAdded = fromMicros(added)
	var err error
	if created != "" {
		if o.Created, err = stix.ParseTimestamp(created); err != nil {
			return e, fmt.Errorf("stored object %s: %w", o.ID, err)
		}
	}
	if modified != "" {
		if o.Modified, err = stix.ParseTimestamp(modified); err != nil {
			return e, fmt.Errorf("stored object %s: %w", o.ID, err)
		}
	}
	return e, nil
}

func clampLimit(n int) int {
	if n <= 0 {
		return defaultLimit
	}
	return min(n, maxLimit)
}

// Query returns one page of q in ascending date_added (TAXII 2.1 §3.3, §3.4, §3.5).
func (s *Store) Query(ctx context.Context, q store.Query) (store.Page, error) {
	cid, err := collectionID(ctx, s.r, q.Collection)
	if err != nil {
		return store.Page{}, fmt.Errorf("sqlite: query: %w", err)
	}
	limit := clampLimit(q.Limit)
	var b sqlBuilder
	b.add("e.cid = ?", cid)
	if !q.AddedAfter.IsZero() {
		b.add("e.date_added > ?", micros(q.AddedAfter))
	}
	if !q.AddedUpTo.IsZero() {
		b.add("e.date_added <= ?", micros(q.AddedUpTo))
	}
	if err := errors.Join(b.ids(q.IDs), b.in("o.spec_version", q.SpecVersions),
		b.versions(q.Versions, q.SpecVersions, q.Submitter, q.AddedUpTo)); err != nil {
		return store.Page{}, fmt.Errorf("sqlite: query: %w", err)
	}
	if q.Submitter != "" {
		b.add("e.submitter = ?", q.Submitter)
	}
	var query string
	var args []any
	if len(q.Types) > 0 && len(q.IDs) == 0 && len(q.Types) <= maxTypeArms {
		// One arm per type, each read in date_added order from entries_type; SQLite
		// merges the arms and stops at the limit. A single scan of the collection with
		// a type filter would read every entry of the other types on the way.
		types := slices.Compact(slices.Sorted(slices.Values(q.Types)))
		arms := make([]string, len(types))
		for i, typ := range types {
			arms[i] = `SELECT ` + entryColumns + ` FROM entries e INDEXED BY entries_type JOIN objects o ON o.oid = e.oid` +
				b.where() + ` AND e.type = ?`
			args = append(append(args, b.args...), typ)
		}
		query = strings.Join(arms, " UNION ALL ") + ` ORDER BY 1 LIMIT ?`
	} else {
		if err := b.in("e.type", q.Types); err != nil {
			return store.Page{}, fmt.Errorf("sqlite: query: %w", err)
		}
		// With ids, start from their objects (objects_idh) and sort their few entries:
		// left to itself the planner walks the whole collection in date_added order to
		// skip the sort, which at a million entries costs most of a second. CROSS JOIN
		// fixes the join order in SQLite.
		from := ` FROM entries e JOIN objects o ON o.oid = e.oid`
		if len(q.IDs) > 0 {
			from = ` FROM objects o CROSS JOIN entries e ON e.oid = o.oid`
		}
		query = `SELECT ` + entryColumns + from + b.where() + ` ORDER BY e.date_added LIMIT ?`
		args = b.args
	}
	rows, err := s.r.QueryContext(ctx, query, append(args, limit+1)...)
	if err != nil {
		return store.Page{}, fmt.Errorf("sqlite: query: %w", err)
	}
	defer rows.Close()
	var p store.Page
	for rows.Next() {
		if len(p.Entries) == limit {
			p.More = true
			break
		}
		e, err := scanEntry(rows)
		if err != nil {
			return store.Page{}, fmt.Errorf("sqlite: query: %w", err)
		}
		p.Entries = append(p.Entries, e)
	}
	if err := rows.Err(); err != nil {
		return store.Page{}, fmt.Errorf("sqlite: query: %w", err)
	}
	return p, nil
}

// Delete removes the matching versions of one object from a collection (TAXII 2.1
// §5.7). An object version that is then in no collection is removed from the store,
// with its text index: a deletion really deletes.
func (s *Store) Delete(ctx context.Context, collection, id string, v store.VersionFilter, specVersions []string) (int, error) {
	s.deletions.Add(1)
	defer s.deletions.Add(1)
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete %s: %w", id, err)
	}
	defer func() { _ = tx.Rollback() }()
	cid, err := collectionID(ctx, tx, collection)
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete %s: %w", id, err)
	}
	var b sqlBuilder
	b.add("o.oid IN (SELECT oid FROM object_ids_all WHERE idh = ?) AND o.id = ?", idHash(id), id)
	b.add("e.cid = ?", cid)
	if err := errors.Join(b.in("o.spec_version", specVersions), b.versions(v, specVersions, "", time.Time{})); err != nil {
		return 0, fmt.Errorf("sqlite: delete %s: %w", id, err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT e.date_added, e.oid FROM objects o CROSS JOIN entries e ON e.oid = o.oid`+b.where(), b.args...)
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete %s: %w", id, err)
	}
	type victim struct{ added, oid int64 }
	var victims []victim
	for rows.Next() {
		var x victim
		if err := rows.Scan(&x.added, &x.oid); err != nil {
			rows.Close()
			return 0, fmt.Errorf("sqlite: delete %s: %w", id, err)
		}
		victims = append(victims, x)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("sqlite: delete %s: %w", id, err)
	}
	for _, x := range victims {
		if _, err := tx.ExecContext(ctx, `DELETE FROM entries WHERE cid = ? AND date_added = ?`, cid, x.added); err != nil {
			return 0, fmt.Errorf("sqlite: delete %s: %w", id, err)
		}
		if err := collectGarbage(ctx, tx, x.oid); err != nil {
			return 0, fmt.Errorf("sqlite: delete %s: %w", id, err)
		}
	}
	if len(victims) > 0 { // the newest remaining version becomes the latest
		if _, err := tx.ExecContext(ctx, `UPDATE entries SET is_last = 1 WHERE cid = ?1 AND date_added =
			(SELECT e.date_added FROM objects o CROSS JOIN entries e ON e.oid = o.oid AND e.cid = ?1
			WHERE o.oid IN (SELECT oid FROM object_ids_all WHERE idh = ?3) AND o.id = ?2
			ORDER BY o.version DESC LIMIT 1)`, cid, id, idHash(id)); err != nil {
			return 0, fmt.Errorf("sqlite: delete %s: latest version: %w", id, err)
		}
	}
	if err := s.auditDelete(ctx, tx, cid, id, v, specVersions, len(victims)); err != nil {
		return 0, fmt.Errorf("sqlite: delete %s: %w", id, err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("sqlite: delete %s: commit: %w", id, err)
	}
	if len(victims) > 0 {
		s.idx.wake() // remove their text from the search file
	}
	return len(victims), nil
}

// Deletions counts the Deletes begun and those ended: one process serves a
// SQLite store, so every Delete is one of its own.
func (s *Store) Deletions(context.Context) (uint64, error) { return s.deletions.Load(), nil }

// collectGarbage removes object oid when no collection holds it any more.
func collectGarbage(ctx context.Context, tx *sql.Tx, oid int64) error {
	var name, desc string
	var idh int64
	err := tx.QueryRowContext(ctx, `SELECT name, description, idh FROM objects WHERE oid = ?1
		AND NOT EXISTS (SELECT 1 FROM entries WHERE oid = ?1)`, oid).Scan(&name, &desc, &idh)
	if errors.Is(err, sql.ErrNoRows) {
		return nil // still in a collection
	}
	if err != nil {
		return err
	}
	if name != "" || desc != "" { // the indexer removes its text from the search file
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO search_deleted (oid) VALUES (?)`, oid); err != nil {
			return fmt.Errorf("unindex text: %w", err)
		}
	}
	for _, q := range []string{`DELETE FROM object_ids WHERE idh = ?1 AND oid = ?2`,
		`DELETE FROM object_ids_new WHERE idh = ?1 AND oid = ?2`, `DELETE FROM objects WHERE oid = ?2`} {
		if _, err := tx.ExecContext(ctx, q, idh, oid); err != nil {
			return err
		}
	}
	return nil
}

// searchWords splits text into the words that the full-text index knows, so that no
// character of the user's text is ever read as query syntax.
func searchWords(text string) []string {
	words := strings.FieldsFunc(text, func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && !unicode.IsMark(r)
	})
	if len(words) > maxSearchWords {
		words = words[:maxSearchWords]
	}
	for i, w := range words {
		if len(w) > maxWordLen { // cut at a rune boundary
			cut := 0
			for j := range w {
				if j > maxWordLen {
					break
				}
				cut = j
			}
			words[i] = w[:cut]
		}
	}
	return words
}

// Search finds the latest versions, per collection, whose name or description holds
// every word of q.Text (the last one as a prefix), best matches first. An empty
// q.Collections searches every collection: the caller restricts it to what the user
// may read.
func (s *Store) Search(ctx context.Context, q store.SearchQuery) ([]store.Entry, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: search: %w", err)
	}
	words := searchWords(q.Text)
	if len(words) == 0 {
		return nil, nil
	}
	var match strings.Builder
	for i, w := range words {
		if i > 0 {
			match.WriteByte(' ')
		}
		match.WriteString(`"` + w + `"`)
	}
	// The words as typed first: a word that many objects contain is then a walk
	// of its list of objects, newest first, that the LIMIT stops early. Only when
	// they match less than asked, the last word as a prefix too, which the index
	// answers by merging the lists of every word with that prefix: a cost in
	// proportion to their matches.
	es, err := s.searchMatch(ctx, q, match.String())
	if err != nil || len(es) >= clampLimit(q.Limit) {
		return es, err
	}
	return s.searchMatch(ctx, q, match.String()+"*")
}

// searchMatch is Search with an FTS5 match expression.
func (s *Store) searchMatch(ctx context.Context, q store.SearchQuery, match string) ([]store.Entry, error) {
	var b sqlBuilder
	b.add("f.fts MATCH ?", match)
	if len(q.Collections) > 0 {
		if len(q.Collections) > maxFilterValues {
			return nil, fmt.Errorf("sqlite: search: %d collections, at most %d", len(q.Collections), maxFilterValues)
		}
		b.add("e.cid IN (SELECT cid FROM collections WHERE id IN ("+placeholders(len(q.Collections))+"))", anys(q.Collections)...)
	}
	if err := b.in("e.type", q.Types); err != nil {
		return nil, fmt.Errorf("sqlite: search: %w", err)
	}
	if err := b.versions(store.VersionFilter{Last: true}, nil, "", time.Time{}); err != nil {
		return nil, fmt.Errorf("sqlite: search: %w", err)
	}
	if err := s.idx.catchUp(ctx); err != nil {
		return nil, fmt.Errorf("sqlite: search: index: %w", err)
	}
	// The newest matches first, in the index's rowid order, which the LIMIT
	// stops early: FTS5's bm25 rank reads the whole list of every word to weigh
	// it, a cost in proportion to the store (a common word took over 100 ms at a
	// million objects), so this store does not rank.
	// CROSS JOIN keeps the index outermost: with a collection filter the planner
	// would otherwise walk the collection's entries and probe the index for each.
	query := `SELECT ` + entryColumns + `, e.cid FROM search.fts f CROSS JOIN objects o ON o.oid = f.rowid
		CROSS JOIN entries e ON e.oid = o.oid` + b.where() + `
		ORDER BY f.rowid DESC LIMIT ?`
	rows, err := s.r.QueryContext(ctx, query, append(b.args, clampLimit(q.Limit))...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: search: %w", err)
	}
	defer rows.Close()
	var out []store.Entry
	var cids []int64
	for rows.Next() {
		var cid int64
		e, err := scanEntry(extraColumn{rows, &cid})
		if err != nil {
			return nil, fmt.Errorf("sqlite: search: %w", err)
		}
		out = append(out, e)
		cids = append(cids, cid)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: search: %w", err)
	}
	rows.Close()
	ids := map[int64]string{}
	for i, cid := range cids {
		id, ok := ids[cid]
		if !ok {
			if err := s.r.QueryRowContext(ctx, `SELECT id FROM collections WHERE cid = ?`, cid).Scan(&id); err != nil {
				return nil, fmt.Errorf("sqlite: search: collection %d: %w", cid, err)
			}
			ids[cid] = id
		}
		out[i].Collection = id
	}
	return out, nil
}

// extraColumn scans one more column after those its caller asks for.
type extraColumn struct {
	sc    scanner
	extra any
}

func (x extraColumn) Scan(dest ...any) error { return x.sc.Scan(append(dest, x.extra)...) }

// Count returns the entries of a collection, or with "" the stored object versions.
func (s *Store) Count(ctx context.Context, collection string) (int, error) {
	var n int
	if collection == "" {
		if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM objects`).Scan(&n); err != nil {
			return 0, fmt.Errorf("sqlite: count: %w", err)
		}
		return n, nil
	}
	cid, err := collectionID(ctx, s.r, collection)
	if err != nil {
		return 0, fmt.Errorf("sqlite: count: %w", err)
	}
	if err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM entries WHERE cid = ?`, cid).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: count: %w", err)
	}
	return n, nil
}

// LastAdded returns the newest date_added of a collection, zero when it is empty.
func (s *Store) LastAdded(ctx context.Context, collection string) (time.Time, error) {
	cid, err := collectionID(ctx, s.r, collection)
	if err != nil {
		return time.Time{}, fmt.Errorf("sqlite: last added: %w", err)
	}
	var last sql.NullInt64
	if err := s.r.QueryRowContext(ctx, `SELECT max(date_added) FROM entries WHERE cid = ?`, cid).Scan(&last); err != nil {
		return time.Time{}, fmt.Errorf("sqlite: last added: %w", err)
	}
	if !last.Valid {
		return time.Time{}, nil
	}
	return fromMicros(last.Int64), nil
}
