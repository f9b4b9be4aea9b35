package audit

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// memTrail is test scaffolding for the verifier: records and checkpoints in
// slices, served in pages the way a store serves them (ascending seq). It is
// not a store; the stores are verified with this same Verify.
type memTrail struct {
	recs []Record
	cps  []Checkpoint
	// unordered serves records in slice order instead of seq order, like a
	// source that does not sort.
	unordered bool
}

func (m *memTrail) Records(ctx context.Context, after int64, limit int) ([]Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out []Record
	if m.unordered {
		for _, r := range m.recs {
			if r.Seq > after && len(out) < limit {
				out = append(out, r)
			}
		}
		return out, nil
	}
	i, _ := slices.BinarySearchFunc(m.recs, after+1, func(r Record, s int64) int {
		return cmpInt(r.Seq, s)
	})
	end := min(i+limit, len(m.recs))
	return m.recs[i:end:end], nil
}

func (m *memTrail) Checkpoints(ctx context.Context, after int64, limit int) ([]Checkpoint, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	i, _ := slices.BinarySearchFunc(m.cps, after+1, func(c Checkpoint, s int64) int {
		return cmpInt(c.Seq, s)
	})
	end := min(i+limit, len(m.cps))
	return m.cps[i:end:end], nil
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// sortRecs puts records back in seq order, as a database would serve them
// after rows exchanged their seq values.
func (m *memTrail) sortRecs() {
	slices.SortStableFunc(m.recs, func(a, b Record) int { return cmpInt(a.Seq, b.Seq) })
}

func (m *memTrail) deleteSeq(t testing.TB, seq int64) {
	t.Helper()
	i := slices.IndexFunc(m.recs, func(r Record) bool { return r.Seq == seq })
	if i < 0 {
		t.Fatalf("no record %d", seq)
	}
	m.recs = slices.Delete(m.recs, i, i+1)
}

func (m *memTrail) at(t testing.TB, seq int64) *Record {
	t.Helper()
	i := slices.IndexFunc(m.recs, func(r Record) bool { return r.Seq == seq })
	if i < 0 {
		t.Fatalf("no record %d", seq)
	}
	return &m.recs[i]
}

func (m *memTrail) cpAt(t testing.TB, seq int64) *Checkpoint {
	t.Helper()
	i := slices.IndexFunc(m.cps, func(c Checkpoint) bool { return c.Seq == seq })
	if i < 0 {
		t.Fatalf("no checkpoint %d", seq)
	}
	return &m.cps[i]
}

var t0 = time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC)

// randomEntry returns a valid entry of any kind, with variety in every field.
func randomEntry(rng *rand.Rand, i int) Entry {
	kinds := []Kind{Disclosure, Receipt, PolicyChange, AdminAction, PeerEvent, AuthEvent}
	e := Entry{
		Kind:    kinds[rng.IntN(len(kinds))],
		Time:    t0.Add(time.Duration(i)*time.Second + time.Duration(rng.IntN(1e9))),
		Actor:   fmt.Sprintf("user:u%d", rng.IntN(50)),
		Subject: fmt.Sprintf("collection:c%d", rng.IntN(5)),
	}
	if e.Kind == Disclosure {
		e.Rule = fmt.Sprintf("agreement:jp/tlp-%d", rng.IntN(3))
		for j := range 1 + rng.IntN(5) {
			e.Objects = append(e.Objects, ObjectRef{
				ID:      fmt.Sprintf("indicator--%08x-0000-4000-8000-%012x", i, j),
				Version: t0.Add(-time.Duration(rng.IntN(1000)) * time.Hour).Format("2006-01-02T15:04:05.000Z"),
			})
		}
	}
	if rng.IntN(2) == 0 {
		d, _ := json.Marshal(map[string]any{"n": rng.IntN(1000), "note": "é ü \u2028", "ok": rng.IntN(2) == 0})
		e.Detail = d
	}
	return e
}

// buildTrail chains n random entries and signs a checkpoint every `every`
// records and, if final, one of the last record.
func buildTrail(t testing.TB, rng *rand.Rand, key ed25519.PrivateKey, n int, every int64, final bool) *memTrail {
	t.Helper()
	m := &memTrail{}
	var prev Record
	for i := range n {
		r, err := Chain(prev, randomEntry(rng, i))
		if err != nil {
			t.Fatal(err)
		}
		m.recs = append(m.recs, r)
		if Due(r.Seq, every) || final && i == n-1 {
			c, err := Sign(key, r, r.Time.Add(time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			m.cps = append(m.cps, c)
		}
		prev = r
	}
	return m
}

func testKey(t testing.TB, seed byte) (ed25519.PublicKey, ed25519.PrivateKey) {
	t.Helper()
	s := make([]byte, ed25519.SeedSize)
	s[0] = seed
	priv := ed25519.NewKeyFromSeed(s)
	return priv.Public().(ed25519.PublicKey), priv
}

// rehash recomputes r's own hash, as someone who knows the format but not the
// key would after editing it.
func rehash(t testing.TB, r *Record) {
	t.Helper()
	h, err := HashRecord(*r)
	if err != nil {
		t.Fatal(err)
	}
	r.Hash = h
}
