package sqlite

import (
	"context"
	"database/sql"
	"math/bits"
)

// idFilter is a Bloom filter of the id hashes of the stored objects, which Put asks
// before it looks ids up in the database: only the ids the filter may hold are looked
// up. In a bulk import nearly every id is new, and its lookup, a probe at a random
// place of object_ids, was a sixth of the single writer's time.
//
// The filter in use is the writer's alone (Put holds the writer's connection while it
// uses it) and covers every object up to the oid upto. Another process writing the
// same database adds objects above upto, which Put adds to the filter, inside its own
// transaction, before it asks the filter. Deleted objects stay in it: a false
// positive costs a lookup, never a wrong answer.
//
// A filter is filled from the id tables in the background, from a snapshot of a read
// connection, when the store opens and when the filter in use is three quarters full
// (at a million objects, a fill takes about a second): Puts go on meanwhile, without a
// filter (looking every id up) or with the full one, and the next Put takes the new
// filter and adds to it what was stored since its snapshot.
type idFilter struct {
	bits []uint64
	mask uint64 // number of bits - 1, a power of two less one
	n    int    // hashes added
	max  int    // hashes it takes before it is rebuilt larger
	upto int64  // every object with an oid up to this one is in the filter
}

const (
	filterBitsPerID = 16 // with filterProbes, about one false positive in 2,000
	filterProbes    = 8
	filterMinIDs    = 1 << 16
)

func newIDFilter(ids int) *idFilter {
	ids = max(ids, filterMinIDs)
	nbits := uint64(1) << bits.Len64(uint64(ids*filterBitsPerID-1))
	return &idFilter{bits: make([]uint64, nbits/64), mask: nbits - 1, max: int(nbits / filterBitsPerID)}
}

// probe returns the i-th bit of h: double hashing, h being a hash already.
func (f *idFilter) probe(h uint64, i uint64) uint64 {
	return (h + i*(bits.RotateLeft64(h, 32)|1)) & f.mask
}

func (f *idFilter) add(idh int64) {
	if f == nil {
		return
	}
	h := uint64(idh)
	for i := range uint64(filterProbes) {
		b := f.probe(h, i)
		f.bits[b/64] |= 1 << (b % 64)
	}
	f.n++
}

// mayHave reports whether idh may be in the filter; false means it is not. No filter
// (nil) may have every id.
func (f *idFilter) mayHave(idh int64) bool {
	if f == nil {
		return true
	}
	h := uint64(idh)
	for i := range uint64(filterProbes) {
		b := f.probe(h, i)
		if f.bits[b/64]&(1<<(b%64)) == 0 {
			return false
		}
	}
	return true
}

// idFilterFor returns the filter for a Put, brought up to lastOid, the last oid
// stored as seen by tx, the writer's transaction; nil while none is ready.
func (s *Store) idFilterFor(tx *sql.Tx, lastOid int64) (*idFilter, error) {
	if f := s.idsNext.Swap(nil); f != nil {
		s.ids = f
	}
	f := s.ids
	if f == nil || lastOid < f.upto { // none yet, or of another copy of the database
		s.ids = nil
		s.fillIDFilter()
		return nil, nil
	}
	if lastOid > f.upto {
		if err := f.fill(tx, `SELECT idh FROM objects WHERE oid > ? AND oid <= ?`, f.upto, lastOid); err != nil {
			s.ids = nil // some of them may be missing
			return nil, err
		}
		f.upto = lastOid
	}
	if f.n > f.max/4*3 {
		s.fillIDFilter() // a larger one
	}
	return f, nil
}

// fillIDFilter fills a new filter in the background, unless one is being filled.
func (s *Store) fillIDFilter() {
	if !s.idsFilling.CompareAndSwap(false, true) {
		return
	}
	s.idsWG.Add(1)
	go func() {
		defer s.idsWG.Done()
		defer s.idsFilling.Store(false)
		if f, err := loadIDFilter(s.idsCtx, s.r.DB); err == nil {
			s.idsNext.Store(f)
		} // else the next Put asks again
	}()
}

// loadIDFilter fills a filter with every id stored, as of one snapshot of db.
func loadIDFilter(ctx context.Context, db *sql.DB) (*idFilter, error) {
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback() }()
	var lastOid int64
	if err := tx.QueryRowContext(ctx, `SELECT last_oid FROM clock`).Scan(&lastOid); err != nil {
		return nil, err
	}
	// Oids are never reused, so lastOid bounds the number of stored objects.
	f := newIDFilter(2 * int(lastOid))
	if err := f.fill(tx, `SELECT idh FROM object_ids_all`); err != nil {
		return nil, err
	}
	f.upto = lastOid
	return f, nil
}

func (f *idFilter) fill(tx *sql.Tx, query string, args ...any) error {
	rows, err := tx.Query(query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var idh int64
		if err := rows.Scan(&idh); err != nil {
			return err
		}
		f.add(idh)
	}
	return rows.Err()
}
