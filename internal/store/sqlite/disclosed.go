package sqlite

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// disclosureIndex fills audit_disclosed, the disclosure records naming each
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
// transaction of the writer, and reports whether records remain.
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
	type named struct {
		seq  int64
		keys string
	}
	var todo []named
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
		if refs := decodeRefs(objects); len(refs) > 0 {
			todo = append(todo, named{last, disclosedKeys(refs)})
			objs += len(refs)
		}
	}
	if err := rows.Close(); err != nil {
		return false, fmt.Errorf("disclosure index: %w", err)
	}
	if n == 0 {
		return false, nil
	}
	ins := tx.StmtContext(ctx, s.au.insDisclosed)
	for _, t := range todo {
		if _, err := ins.ExecContext(ctx, t.seq, t.keys); err != nil {
			return false, fmt.Errorf("disclosure index: record %d: %w", t.seq, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE audit_disclosed_upto SET seq = ?`, last); err != nil {
		return false, fmt.Errorf("disclosure index: %w", err)
	}
	return n == disclosedChunk || objs >= disclosedRows, tx.Commit()
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
