package sqlite

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"quadshare/internal/audit"
	"quadshare/internal/stix"
	"quadshare/internal/store"
)

// The audit trail (migrations/0002_audit.sql). Every write transaction that
// records something appends to it before it commits, through the single writer,
// so appends are serialised without a lock of their own: read the last record's
// seq and hash, chain, insert the records (and a checkpoint when one is due).
// There is no head row as on PostgreSQL, which needs one to lock: keeping it up
// to date would cost every Put one more statement.

// WithAuditKey signs audit checkpoints with key: every audit.CheckpointEvery
// records, in the transaction that appends the record, and on demand. Without a
// key the trail is chained but no checkpoint is signed.
func WithAuditKey(key ed25519.PrivateKey) Option { return func(p *Options) { p.AuditKey = key } }

// auditState is what the store keeps for the trail.
type auditState struct {
	key   ed25519.PrivateKey // nil: sign nothing
	group store.AuditGroup

	selHead, insRecord, insCheckpoint *sql.Stmt

	// Used by commitAudit alone, which the group runs one at a time.
	last     audit.Record      // the last record it appended; zero: read the trail's
	insAfter map[int]*sql.Stmt // by number of rows: insert them if the trail ends at a seq

	mu  sync.Mutex
	ids map[int64]string // collection cid -> id; collections are never removed
}

func (s *Store) prepareAudit(ctx context.Context, key ed25519.PrivateKey) error {
	if key != nil && len(key) != ed25519.PrivateKeySize {
		return fmt.Errorf("audit key: %d bytes, want %d", len(key), ed25519.PrivateKeySize)
	}
	a := &s.au
	a.key = key
	a.ids = make(map[int64]string)
	a.group.Commit = s.commitAudit
	var err error
	prep := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		st, err = s.w.PrepareContext(ctx, q)
		return st
	}
	a.selHead = prep(`SELECT seq, hash FROM audit_records ORDER BY seq DESC LIMIT 1`)
	a.insRecord = prep(`INSERT INTO audit_records (seq, prev, hash, kind, time_us, actor, subject, rule, objects, detail)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	a.insCheckpoint = prep(`INSERT INTO audit_checkpoints (seq, hash, time_us, signature) VALUES (?, ?, ?, ?)
		ON CONFLICT (seq) DO NOTHING`)
	if err != nil {
		return fmt.Errorf("prepare audit: %w", err)
	}
	return nil
}

func (s *Store) closeAudit() error {
	var errs []error
	sts := []*sql.Stmt{s.au.selHead, s.au.insRecord, s.au.insCheckpoint}
	for _, st := range s.au.insAfter {
		sts = append(sts, st)
	}
	for _, st := range sts {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	return errors.Join(errs...)
}

// head reads the last record's seq and hash under the write transaction tx, or
// outside one when tx is nil; the zero Record when there is none.
func (s *Store) head(tx *sql.Tx) (audit.Record, error) {
	var last audit.Record
	var h []byte
	st := s.au.selHead
	if tx != nil {
		st = tx.StmtContext(context.Background(), st)
	}
	err := st.QueryRow().Scan(&last.Seq, &h)
	if errors.Is(err, sql.ErrNoRows) {
		return last, nil
	}
	if err != nil {
		return last, fmt.Errorf("audit head: %w", err)
	}
	// A hash of the wrong length (changed by hand) chains as zero: the trail goes
	// on, and Verify reports the record and the link.
	last.Hash, _ = audit.HashFromBytes(h)
	return last, nil
}

// appendAudit chains entries after the last record inside tx, a write
// transaction of the single writer, and signs a checkpoint of each record that
// is due one.
func (s *Store) appendAudit(tx *sql.Tx, entries []audit.Entry) error {
	bg := context.Background()
	last, err := s.head(tx)
	if err != nil {
		return err
	}
	recs, err := audit.ChainAll(last, entries)
	if err != nil {
		return err
	}
	ins := tx.StmtContext(bg, s.au.insRecord)
	for i := range recs {
		r := &recs[i]
		refs := encodeRefs(r.Objects)
		if _, err := ins.ExecContext(bg, r.Seq, r.PrevHash[:], r.Hash[:], string(r.Kind), r.Time.UnixMicro(),
			r.Actor, r.Subject, r.Rule, refs, string(r.Detail)); err != nil {
			return fmt.Errorf("audit record %d: %w", r.Seq, err)
		}
		if s.au.key != nil && audit.Due(r.Seq, audit.CheckpointEvery) {
			if err := s.insertCheckpoint(tx, *r); err != nil {
				return err
			}
		}
	}
	// Noted before tx commits: the trail index checks each note against the
	// record's hash, so the note of a record rolled back is not used.
	s.ti.note(recs)
	return nil
}

func (s *Store) insertCheckpoint(tx *sql.Tx, r audit.Record) error {
	cp, err := audit.Sign(s.au.key, r, time.Now())
	if err != nil {
		return err
	}
	bg := context.Background()
	if _, err := tx.StmtContext(bg, s.au.insCheckpoint).ExecContext(bg, cp.Seq, cp.Hash[:], cp.Time.UnixMicro(), cp.Signature); err != nil {
		return fmt.Errorf("audit checkpoint %d: %w", cp.Seq, err)
	}
	return nil
}

// auditPut appends the receipt of a Put in its transaction tx.
func (s *Store) auditPut(ctx context.Context, tx *sql.Tx, cid int64, submitter string, objs []stix.Object, res []store.PutResult) error {
	id, err := s.collectionIDOf(tx, cid)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	if err := s.appendAudit(tx, store.ReceiptEntries(ctx, s.now(), id, submitter, objs, res)); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// collectionIDOf returns the id of collection cid, from a cache after the first time.
func (s *Store) collectionIDOf(tx *sql.Tx, cid int64) (string, error) {
	s.au.mu.Lock()
	id, ok := s.au.ids[cid]
	s.au.mu.Unlock()
	if ok {
		return id, nil
	}
	if err := tx.QueryRowContext(context.Background(), `SELECT id FROM collections WHERE cid = ?`, cid).Scan(&id); err != nil {
		return "", fmt.Errorf("collection %d: %w", cid, err)
	}
	s.au.mu.Lock()
	s.au.ids[cid] = id
	s.au.mu.Unlock()
	return id, nil
}

// audited runs fn in a write transaction and appends the entry it returns in the
// same transaction: the action and its record commit together or not at all.
func (s *Store) audited(ctx context.Context, fn func(tx *sql.Tx) (audit.Entry, error)) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	e, err := fn(tx)
	if err != nil {
		return err
	}
	if err := s.appendAudit(tx, []audit.Entry{e}); err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return tx.Commit()
}

// AppendAudit appends entries in a transaction shared with concurrent callers.
func (s *Store) AppendAudit(ctx context.Context, entries ...audit.Entry) error {
	if err := s.au.group.Append(ctx, entries); err != nil {
		return fmt.Errorf("sqlite: append audit: %w", err)
	}
	return nil
}

// commitAudit appends the entries of a group commit. A page's disclosure is
// one or two records, and a transaction (BEGIN, read the last record, insert,
// COMMIT) cost more than the insert itself: so the records are inserted by one
// statement, on their own, that adds them only if the trail still ends where
// they were chained, and the last record this function appended stands for the
// trail's end. If another write appended meanwhile (a Put, another process)
// nothing is inserted; the end is then read and the records chained again.
// Being one statement, the insert is atomic and durable like the transaction
// was. A group that is due a checkpoint, or larger than a few records, takes
// the transaction.
func (s *Store) commitAudit(ctx context.Context, entries []audit.Entry) error {
	a := &s.au
	if len(entries) <= maxInsertAfter {
		for range 3 {
			last := a.last
			if last.Seq == 0 {
				var err error
				if last, err = s.head(nil); err != nil {
					return err
				}
			}
			recs, err := audit.ChainAll(last, entries)
			if err != nil {
				return err
			}
			if a.key != nil && slices.ContainsFunc(recs, func(r audit.Record) bool { return audit.Due(r.Seq, audit.CheckpointEvery) }) {
				break
			}
			a.last = audit.Record{}
			n, err := s.insertAfter(ctx, last.Seq, recs)
			if err != nil {
				return err
			}
			if n == len(recs) {
				a.last = recs[len(recs)-1]
				s.ti.note(recs)
				return nil
			}
		}
	}
	a.last = audit.Record{}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if err := s.appendAudit(tx, entries); err != nil {
		return err
	}
	return tx.Commit()
}

// maxInsertAfter bounds the records commitAudit inserts in one statement.
const maxInsertAfter = 8

// insertAfter inserts recs, which follow record seq, if the trail ends at seq;
// it returns how many rows it inserted (0 or all).
func (s *Store) insertAfter(ctx context.Context, seq int64, recs []audit.Record) (int, error) {
	a := &s.au
	st := a.insAfter[len(recs)]
	if st == nil {
		q := `INSERT INTO audit_records (seq, prev, hash, kind, time_us, actor, subject, rule, objects, detail)
			SELECT * FROM (VALUES ` + strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?, ?, ?, ?, ?, ?, ?), ", len(recs)), ", ") + `)
			WHERE (SELECT coalesce(max(seq), 0) FROM audit_records) = ?`
		var err error
		if st, err = s.w.PrepareContext(ctx, q); err != nil {
			return 0, fmt.Errorf("prepare audit insert: %w", err)
		}
		if a.insAfter == nil {
			a.insAfter = make(map[int]*sql.Stmt)
		}
		a.insAfter[len(recs)] = st
	}
	args := make([]any, 0, 10*len(recs)+1)
	for i := range recs {
		r := &recs[i]
		args = append(args, r.Seq, r.PrevHash[:], r.Hash[:], string(r.Kind), r.Time.UnixMicro(),
			r.Actor, r.Subject, r.Rule, encodeRefs(r.Objects), string(r.Detail))
	}
	res, err := st.ExecContext(ctx, append(args, seq)...)
	if err != nil {
		return 0, fmt.Errorf("audit records %d…: %w", recs[0].Seq, err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// SignAuditCheckpoint signs a checkpoint of the last record, unless it has one.
func (s *Store) SignAuditCheckpoint(ctx context.Context) error {
	if s.au.key == nil {
		return fmt.Errorf("sqlite: sign audit checkpoint: %w", store.ErrNoAuditKey)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: sign audit checkpoint: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	last, err := s.head(tx)
	if err != nil {
		return fmt.Errorf("sqlite: sign audit checkpoint: %w", err)
	}
	if last.Seq == 0 {
		return nil
	}
	if err := s.insertCheckpoint(tx, last); err != nil {
		return fmt.Errorf("sqlite: sign audit checkpoint: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: sign audit checkpoint: %w", err)
	}
	return nil
}

// AuditRecords returns at most limit records after afterSeq, in seq order.
func (s *Store) AuditRecords(ctx context.Context, afterSeq int64, limit int) ([]audit.Record, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT seq, prev, hash, kind, time_us, actor, subject, rule, objects, detail
		FROM audit_records WHERE seq > ? ORDER BY seq LIMIT ?`, afterSeq, store.AuditPageLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("sqlite: audit records: %w", err)
	}
	return scanAuditRecords(rows)
}

// scanAuditRecords reads rows of (seq, prev, hash, kind, time_us, actor, subject,
// rule, objects, detail) and closes them.
func scanAuditRecords(rows *sql.Rows) ([]audit.Record, error) {
	defer rows.Close()
	var out []audit.Record
	for rows.Next() {
		var r audit.Record
		var prev, hash []byte
		var kind, objects, detail string
		var us int64
		if err := rows.Scan(&r.Seq, &prev, &hash, &kind, &us, &r.Actor, &r.Subject, &r.Rule, &objects, &detail); err != nil {
			return nil, fmt.Errorf("sqlite: audit records: %w", err)
		}
		// A hash of the wrong length reads as zero: Verify then reports the record.
		r.PrevHash, _ = audit.HashFromBytes(prev)
		r.Hash, _ = audit.HashFromBytes(hash)
		r.Kind, r.Time = audit.Kind(kind), time.UnixMicro(us).UTC()
		r.Objects = decodeRefs(objects)
		if detail != "" {
			r.Detail = json.RawMessage(detail)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: audit records: %w", err)
	}
	return out, nil
}

// AuditDisclosures returns the disclosure records naming objectID, newest first,
// through audit_disclosed_runs, once it holds every record appended so far.
func (s *Store) AuditDisclosures(ctx context.Context, objectID string, limit int) ([]audit.Record, error) {
	if err := s.ti.catchUp(ctx); err != nil {
		return nil, fmt.Errorf("sqlite: audit disclosures: %w", err)
	}
	limit = store.AuditPageLimit(limit)
	runs, err := s.r.QueryContext(ctx, `SELECT last, steps FROM audit_disclosed_runs WHERE idh = ? ORDER BY last DESC`, store.DisclosedKey(objectID))
	if err != nil {
		return nil, fmt.Errorf("sqlite: audit disclosures: %w", err)
	}
	var seqs []int64
	for len(seqs) < limit && runs.Next() {
		var last int64
		var steps []byte
		if err := runs.Scan(&last, &steps); err != nil {
			runs.Close()
			return nil, fmt.Errorf("sqlite: audit disclosures: %w", err)
		}
		seqs = decodeRun(seqs, last, steps, limit)
	}
	if err := errors.Join(runs.Err(), runs.Close()); err != nil {
		return nil, fmt.Errorf("sqlite: audit disclosures: %w", err)
	}
	if len(seqs) == 0 {
		return nil, nil
	}
	list, _ := json.Marshal(seqs)
	rows, err := s.r.QueryContext(ctx, `SELECT seq, prev, hash, kind, time_us, actor, subject, rule, objects, detail
		FROM audit_records WHERE seq IN (SELECT value FROM json_each(?)) ORDER BY seq DESC`, string(list))
	if err != nil {
		return nil, fmt.Errorf("sqlite: audit disclosures: %w", err)
	}
	recs, err := scanAuditRecords(rows)
	if err != nil {
		return nil, err
	}
	// Only those that name the object: two ids may share a hash.
	return slices.DeleteFunc(recs, func(r audit.Record) bool {
		return !slices.ContainsFunc(r.Objects, func(o audit.ObjectRef) bool { return o.ID == objectID })
	}), nil
}

// AuditTally counts the records of actors since the minute of since, through
// audit_tally, once it holds every record appended so far.
func (s *Store) AuditTally(ctx context.Context, actors []string, since time.Time) ([]store.AuditCount, error) {
	if len(actors) == 0 {
		return nil, nil
	}
	if len(actors) > store.MaxTallyActors {
		return nil, fmt.Errorf("sqlite: audit tally: more than %d actors", store.MaxTallyActors)
	}
	if err := s.ti.catchUp(ctx); err != nil {
		return nil, fmt.Errorf("sqlite: audit tally: %w", err)
	}
	names, _ := json.Marshal(actors) // strings always marshal
	rows, err := s.r.QueryContext(ctx, `SELECT kind, rule, sum(records), sum(objects) FROM audit_tally
		WHERE actor IN (SELECT value FROM json_each(?)) AND minute >= ? GROUP BY kind, rule ORDER BY kind, rule`, string(names), minuteOf(since.UnixMicro()))
	if err != nil {
		return nil, fmt.Errorf("sqlite: audit tally: %w", err)
	}
	defer rows.Close()
	var out []store.AuditCount
	for rows.Next() {
		var c store.AuditCount
		if err := rows.Scan(&c.Kind, &c.Rule, &c.Records, &c.Objects); err != nil {
			return nil, fmt.Errorf("sqlite: audit tally: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: audit tally: %w", err)
	}
	return out, nil
}

// AuditCheckpoints returns at most limit checkpoints after afterSeq, in seq order.
func (s *Store) AuditCheckpoints(ctx context.Context, afterSeq int64, limit int) ([]audit.Checkpoint, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT seq, hash, time_us, signature FROM audit_checkpoints
		WHERE seq > ? ORDER BY seq LIMIT ?`, afterSeq, store.AuditPageLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("sqlite: audit checkpoints: %w", err)
	}
	defer rows.Close()
	var out []audit.Checkpoint
	for rows.Next() {
		var c audit.Checkpoint
		var hash []byte
		var us int64
		if err := rows.Scan(&c.Seq, &hash, &us, &c.Signature); err != nil {
			return nil, fmt.Errorf("sqlite: audit checkpoints: %w", err)
		}
		c.Hash, _ = audit.HashFromBytes(hash) // a wrong length fails the signature
		c.Time = time.UnixMicro(us).UTC()
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: audit checkpoints: %w", err)
	}
	return out, nil
}

// auditCollection records CreateCollection in its transaction.
func (s *Store) auditCollection(ctx context.Context, tx *sql.Tx, c store.Collection) error {
	e, err := store.CollectionCreated(ctx, s.now(), c)
	if err == nil {
		err = s.appendAudit(tx, []audit.Entry{e})
	}
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}

// auditDelete records Delete in its transaction.
func (s *Store) auditDelete(ctx context.Context, tx *sql.Tx, cid int64, id string, v store.VersionFilter, specVersions []string, removed int) error {
	col, err := s.collectionIDOf(tx, cid)
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	e, err := store.ObjectDeleted(ctx, s.now(), col, id, v, specVersions, removed)
	if err == nil {
		err = s.appendAudit(tx, []audit.Entry{e})
	}
	if err != nil {
		return fmt.Errorf("audit: %w", err)
	}
	return nil
}
