package gate

import (
	"bytes"
	"hash/maphash"
	"sync"

	"quadshare/internal/policy"
	"quadshare/internal/stix"
)

// factCacheSize bounds the objects remembered: two generations of this many each.
const factCacheSize = 1 << 15

// factShards is how many parts the cache is cut into, each with its own lock: a
// big page is decided on every core, and with one lock the cores queued for it
// (a lock and a map lookup per object, all of them misses in a walk).
const factShards = 64

// factCache keeps, per object version, its policy facts and the form it leaves
// in when only scrubbed (the usual redaction for readers outside our agency),
// keyed by a hash of its JSON: a page read again costs a hash and a map lookup
// instead of a parse, a decode and an encode. Both depend only on the object and
// the engine, so an entry is reused only for the same id, size and engine. When
// the current generation of a shard fills, it becomes the old one and the old one
// is dropped: memory stays bounded and what is read often stays.
type factCache struct {
	seed   maphash.Seed
	shards [factShards]factShard
}

type factShard struct {
	max      int
	mu       sync.Mutex
	cur, old map[uint64]*known
	_        [64]byte // a shard's lock on a cache line of its own
}

// known is what the cache remembers of one object version.
type known struct {
	engine *policy.Engine
	size   int // len of the JSON: with the id, a guard against a hash collision
	facts  policy.Facts

	scrubOnce sync.Once
	scrubbed  stix.Object // the object after Scrub alone; shared, never modified
	scrubRecs []policy.Redacted
	scrubErr  error
}

func newFactCache(size int) *factCache {
	c := &factCache{seed: maphash.MakeSeed()}
	for i := range c.shards {
		c.shards[i].max = max(1, size/factShards)
		c.shards[i].cur = map[uint64]*known{}
	}
	return c
}

// get returns what is known of raw, extracting its facts on a miss; ok is false
// when raw cannot be read or is not the object id.
func (c *factCache) get(e *policy.Engine, id string, raw []byte) (*known, bool) {
	h := maphash.Bytes(c.seed, raw)
	sh := &c.shards[h%factShards]
	sh.mu.Lock()
	k := sh.cur[h]
	if k == nil {
		if k = sh.old[h]; k != nil {
			sh.put(h, k)
		}
	}
	sh.mu.Unlock()
	if k != nil && k.engine == e && k.size == len(raw) && k.facts.ID == id {
		return k, true
	}
	f, err := e.Extract(raw)
	if err != nil || f.ID != id {
		return nil, false
	}
	k = &known{engine: e, size: len(raw), facts: f}
	sh.mu.Lock()
	sh.put(h, k)
	sh.mu.Unlock()
	return k, true
}

func (sh *factShard) put(h uint64, k *known) {
	if len(sh.cur) >= sh.max {
		sh.old, sh.cur = sh.cur, make(map[uint64]*known, sh.max)
	}
	sh.cur[h] = k
}

// apply carries out d on the object and returns it as it leaves: its JSON and
// the fields read from it (name, description) both redacted, so no reader of the
// entry sees what the policy removed; the zero Object when d changes nothing.
// The result of a scrub alone, which depends on nothing but the object and the
// engine, is remembered.
func (k *known) apply(raw []byte, f *policy.Facts, d policy.Decision) (stix.Object, []policy.Redacted, error) {
	if d.Redact != 0 || d.Anonymise || !d.Scrub {
		return redacted(k.engine, raw, f, d)
	}
	k.scrubOnce.Do(func() { k.scrubbed, k.scrubRecs, k.scrubErr = redacted(k.engine, raw, f, d) })
	return k.scrubbed, k.scrubRecs, k.scrubErr
}

// redacted returns the object as d leaves it, or the zero Object when d changes
// nothing (the stored object leaves as it is, without being decoded again). What
// redaction leaves must still be valid STIX: where granular content left a list item
// invalid, the item goes whole; an indicator whose pattern was under a marking the
// recipient may not receive is not sent without it, but withheld.
func redacted(e *policy.Engine, raw []byte, f *policy.Facts, d policy.Decision) (stix.Object, []policy.Redacted, error) {
	out, recs, err := e.Apply(raw, f, d)
	if err != nil {
		return stix.Object{}, nil, err
	}
	if len(recs) == 0 && bytes.Equal(out, raw) {
		return stix.Object{}, nil, nil
	}
	o, err := stix.Parse(out)
	if err != nil && d.Redact != 0 {
		// A list item left invalid (an external reference without its url, all it
		// named): the item goes whole, so that the rest of the object can go.
		if out, recs, err2 := e.ApplyWholeItems(raw, f, d); err2 == nil {
			if o, err2 := stix.Parse(out); err2 == nil {
				return o, recs, nil
			}
		}
	}
	return o, recs, err
}
