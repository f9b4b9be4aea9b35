package sqlite

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
)

// disclosureIndex fills audit_disclosed_runs, the disclosure records naming each
// object, after the records are appended rather than in the statement that
// appends them: a page read through the gate then writes its one or two
// records, not a row per object it disclosed. It runs shortly after appends
// (wake) and before AuditDisclosures reads the index (catchUp), so that a
// reader never misses a record.
type disclosureIndex struct {
	s       *Store
	mu      sync.Mutex // one pass at a time
	closed  bool       // under mu
	closing sync.Once
	bg      *passes
}

// disclosedChunk bounds the records, and disclosedRows the rows written, by one
// transaction of the index, so that it holds the single writer only briefly.
const (
	disclosedChunk = 2000
	disclosedRows  = 5000
)

func (s *Store) startDisclosureIndex() {
	x := &disclosureIndex{s: s}
	s.dx = x
	// A failure is retried at the next wake; catchUp reports it.
	x.bg = startPasses(func() { _ = x.pass(context.Background()) })
}

// wake asks for a pass without waiting.
func (x *disclosureIndex) wake() {
	if x != nil {
		x.bg.wake()
	}
}

// pass indexes every record appended so far.
func (x *disclosureIndex) pass(ctx context.Context) error {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.closed {
		return errors.New("store closed")
	}
	for {
		more, err := x.step(ctx)
		if err != nil || !more {
			return err
		}
		if x.bg.halted() {
			return nil
		}
	}
}

// step indexes the disclosures among the next disclosedChunk records, in one
// transaction of the writer, and reports whether records remain. The records of
// one step that name an object become one row of audit_disclosed_runs: a page
// read again and again (a partner polling a collection) adds a row per object
// per pass, not per read.
func (x *disclosureIndex) step(ctx context.Context) (more bool, err error) {
	s := x.s
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer func() { _ = tx.Rollback() }()
	var upto int64
	if err := tx.QueryRowContext(ctx, `SELECT seq FROM audit_disclosed_upto`).Scan(&upto); err != nil {
		return false, fmt.Errorf("disclosure index: %w", err)
	}
	// The objects column of a disclosure only: a receipt of a large Put lists
	// every object it stored, in pages of its own that are then not read.
	rows, err := tx.QueryContext(ctx, `SELECT seq, kind = 'disclosure', CASE WHEN kind = 'disclosure' THEN objects ELSE '' END
		FROM audit_records WHERE seq > ? ORDER BY seq LIMIT ?`, upto, disclosedChunk)
	if err != nil {
		return false, fmt.Errorf("disclosure index: %w", err)
	}
	runs := map[int64][]int64{} // id hash -> seqs of the records naming it, ascending
	n, last, objs := 0, upto, 0
	for objs < disclosedRows && rows.Next() {
		var disclosure bool
		var objects string
		if err := rows.Scan(&last, &disclosure, &objects); err != nil {
			rows.Close()
			return false, fmt.Errorf("disclosure index: %w", err)
		}
		n++
		if !disclosure {
			continue
		}
		refs := decodeRefs(objects)
		for i, r := range refs {
			if i > 0 && r.ID == refs[i-1].ID { // versions of one object side by side
				continue
			}
			h := idHash(r.ID)
			if seqs := runs[h]; len(seqs) == 0 || seqs[len(seqs)-1] != last {
				runs[h] = append(seqs, last)
			}
		}
		objs += len(refs)
	}
	if err := rows.Close(); err != nil {
		return false, fmt.Errorf("disclosure index: %w", err)
	}
	if n == 0 {
		return false, nil
	}
	if len(runs) > 0 {
		if _, err := tx.StmtContext(ctx, s.au.insDisclosed).ExecContext(ctx, encodeRuns(runs)); err != nil {
			return false, fmt.Errorf("disclosure index: records %d to %d: %w", upto+1, last, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE audit_disclosed_upto SET seq = ?`, last); err != nil {
		return false, fmt.Errorf("disclosure index: %w", err)
	}
	return n == disclosedChunk || objs >= disclosedRows, tx.Commit()
}

// encodeRuns writes runs as the JSON array that insDisclosed reads, in key
// order so that the inserts walk the index's pages in order: [idh, last] for a
// run of one record, [idh, last, "hex"] otherwise, where hex is the run's
// other seqs, newest first, as uvarint steps down from last.
func encodeRuns(runs map[int64][]int64) string {
	keys := slices.Sorted(maps.Keys(runs))
	b := make([]byte, 0, len(keys)*32)
	var steps []byte
	b = append(b, '[')
	for i, h := range keys {
		seqs := runs[h]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = strconv.AppendInt(b, h, 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, seqs[len(seqs)-1], 10)
		if len(seqs) > 1 {
			steps = steps[:0]
			for j := len(seqs) - 1; j > 0; j-- {
				steps = binary.AppendUvarint(steps, uint64(seqs[j]-seqs[j-1]))
			}
			b = append(b, `,"`...)
			b = hex.AppendEncode(b, steps)
			b = append(b, '"')
		}
		b = append(b, ']')
	}
	return string(append(b, ']'))
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
func (x *disclosureIndex) catchUp(ctx context.Context) error {
	if x == nil {
		return errors.New("store closed")
	}
	var last, upto int64
	if err := x.s.r.QueryRowContext(ctx, `SELECT coalesce(max(seq), 0), (SELECT seq FROM audit_disclosed_upto) FROM audit_records`).Scan(&last, &upto); err != nil {
		return fmt.Errorf("disclosure index: %w", err)
	}
	if upto >= last {
		return nil
	}
	return x.pass(ctx)
}

// close stops the index, once; what it has not indexed is indexed after the
// next open.
func (x *disclosureIndex) close() {
	x.closing.Do(func() {
		x.bg.halt()
		x.mu.Lock() // a pass of AuditDisclosures may be running
		x.closed = true
		x.mu.Unlock()
	})
}
