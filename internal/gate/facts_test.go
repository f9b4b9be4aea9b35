package gate

import (
	"testing"

	"quadshare/internal/par"
)

// TestFactCache: an object read again is a hit (the same facts, not extracted
// anew) unless read with another engine, and the cache stays within two
// generations of its size however many objects pass through it.
func TestFactCache(t *testing.T) {
	e, other := testEngine(t, nil), testEngine(t, nil)
	const size = 1024
	c := newFactCache(size)
	first := entry(t, 1, tlpGreen, "d")
	k1, ok := c.get(e, first.Object.ID, first.Object.Raw)
	if !ok {
		t.Fatal("facts of a valid object not extracted")
	}
	if k2, _ := c.get(e, first.Object.ID, first.Object.Raw); k2 != k1 {
		t.Fatal("an object read again was extracted again")
	}
	if k3, _ := c.get(other, first.Object.ID, first.Object.Raw); k3 == k1 || k3.engine != other {
		t.Fatal("facts of another engine were reused")
	}
	if _, ok := c.get(e, "indicator--00000000-0000-4000-8000-00000000ffff", first.Object.Raw); ok {
		t.Fatal("facts returned for an id the object does not have")
	}
	for i := 2; i < 20*size; i++ {
		en := entry(t, i, tlpGreen, "d")
		if _, ok := c.get(e, en.Object.ID, en.Object.Raw); !ok {
			t.Fatalf("object %d: facts not extracted", i)
		}
	}
	held := 0
	for i := range c.shards {
		held += len(c.shards[i].cur) + len(c.shards[i].old)
	}
	if held > 2*size || held < size/2 {
		t.Fatalf("the cache holds %d objects, want between %d and %d", held, size/2, 2*size)
	}
}

// BenchmarkFactCacheMisses: pages of 1,000 objects the cache has not seen (a
// walk of a big collection), looked up on every core as Release does.
func BenchmarkFactCacheMisses(b *testing.B) {
	e := testEngine(b, nil)
	type object struct {
		id  string
		raw []byte
	}
	objects := make([]object, 100_000)
	for i := range objects {
		en := entry(b, i, tlpGreen, "d")
		objects[i] = object{en.Object.ID, en.Object.Raw}
	}
	const page = 1000
	var c *factCache
	for i := 0; b.Loop(); i++ {
		at := i * page % len(objects)
		if at == 0 {
			c = newFactCache(factCacheSize) // every object a miss again
		}
		par.Each(page, decideChunk, func(j int) { c.get(e, objects[at+j].id, objects[at+j].raw) })
	}
}
