package sqlite

import (
	"database/sql"
	"fmt"
	"math/bits"
)

// idFilter is a Bloom filter of the id hashes of the stored objects, which Put asks
// before it looks ids up in the database: only the ids the filter may hold are looked
// up. In a bulk import nearly every id is new, and its lookup, a probe at a random
// place of object_ids, was a sixth of the single writer's time.
//
// The filter is the writer's alone (Put holds the writer's connection while it uses
// it) and covers every object up to the oid upto. Another process writing the same
// database adds objects above upto, which Put adds to the filter, inside its own
// transaction, before it asks the filter. Deleted objects stay in it: a false
// positive costs a lookup, never a wrong answer.
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
	h := uint64(idh)
	for i := range uint64(filterProbes) {
		b := f.probe(h, i)
		f.bits[b/64] |= 1 << (b % 64)
	}
	f.n++
}

// mayHave reports whether idh may be in the filter; false means it is not.
func (f *idFilter) mayHave(idh int64) bool {
	h := uint64(idh)
	for i := range uint64(filterProbes) {
		b := f.probe(h, i)
		if f.bits[b/64]&(1<<(b%64)) == 0 {
			return false
		}
	}
	return true
}

// idFilterFor returns the filter of s brought up to lastOid, the last oid stored as
// seen by tx, the writer's transaction: built on the first Put, or when it is full,
// from object_ids_all; caught up with the objects another process stored since.
func (s *Store) idFilterFor(tx *sql.Tx, lastOid int64) (*idFilter, error) {
	f := s.ids
	if f == nil || lastOid < f.upto || f.n+int(lastOid-f.upto) > f.max {
		// Oids are never reused, so lastOid bounds the number of stored objects.
		f = newIDFilter(2 * int(lastOid))
		if err := f.fill(tx, `SELECT idh FROM object_ids_all`); err != nil {
			s.ids = nil
			return nil, fmt.Errorf("id filter: %w", err)
		}
	} else if lastOid > f.upto {
		if err := f.fill(tx, `SELECT idh FROM objects WHERE oid > ? AND oid <= ?`, f.upto, lastOid); err != nil {
			s.ids = nil
			return nil, fmt.Errorf("id filter: %w", err)
		}
	}
	f.upto = lastOid
	s.ids = f
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
