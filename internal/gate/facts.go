package gate

import (
	"hash/maphash"
	"sync"

	"quadshare/internal/policy"
)

// factCacheSize bounds the facts kept: two generations of this many each.
const factCacheSize = 1 << 16

// factCache keeps the policy facts of object versions, keyed by a hash of their
// JSON, so a page read again costs a hash and a map lookup instead of a parse.
// Facts depend only on the object and the classification scales, so an entry is
// reused only for the same id under the same scales. When the current generation
// fills, it becomes the old one and the old one is dropped: memory stays bounded
// and what is read often stays.
type factCache struct {
	seed maphash.Seed
	max  int

	mu       sync.Mutex
	cur, old map[uint64]*cachedFacts
}

type cachedFacts struct {
	scales *policy.Scales
	size   int // len of the JSON: with the id, a guard against a hash collision
	facts  policy.Facts
}

func newFactCache(max int) *factCache {
	return &factCache{seed: maphash.MakeSeed(), max: max, cur: map[uint64]*cachedFacts{}}
}

// get returns the facts of raw, extracting them on a miss; ok is false when
// raw cannot be read or is not the object id.
func (c *factCache) get(e *policy.Engine, id string, raw []byte) (*policy.Facts, bool) {
	h := maphash.Bytes(c.seed, raw)
	scales := e.Scales()
	c.mu.Lock()
	cf := c.cur[h]
	if cf == nil {
		if cf = c.old[h]; cf != nil {
			c.put(h, cf)
		}
	}
	c.mu.Unlock()
	if cf != nil && cf.scales == scales && cf.size == len(raw) && cf.facts.ID == id {
		return &cf.facts, true
	}
	f, err := e.Extract(raw)
	if err != nil || f.ID != id {
		return nil, false
	}
	cf = &cachedFacts{scales: scales, size: len(raw), facts: f}
	c.mu.Lock()
	c.put(h, cf)
	c.mu.Unlock()
	return &cf.facts, true
}

func (c *factCache) put(h uint64, cf *cachedFacts) {
	if len(c.cur) >= c.max {
		c.old, c.cur = c.cur, make(map[uint64]*cachedFacts, c.max)
	}
	c.cur[h] = cf
}
