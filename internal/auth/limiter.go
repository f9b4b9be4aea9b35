package auth

import (
	"container/list"
	"sync"
	"time"
)

// limiter is a set of token buckets, one per key (a client address), that failed
// logins drain. A bucket holds up to burst tokens and regains one every
// refill; a key whose bucket is empty is refused until it refills. Only failures take
// tokens, so clients that log in correctly are never slowed. At most max buckets are
// kept; the least recently touched is dropped first (a dropped bucket counts as full).
type limiter struct {
	mu     sync.Mutex
	burst  float64
	refill time.Duration
	max    int
	keys   map[string]*list.Element
	lru    *list.List // front: most recently touched
}

type bucket struct {
	key    string
	tokens float64
	last   time.Time
	warned bool // the refusal has been logged since the bucket ran dry
}

func newLimiter(burst int, refill time.Duration, max int) *limiter {
	return &limiter{
		burst:  float64(burst),
		refill: refill,
		max:    max,
		keys:   make(map[string]*list.Element),
		lru:    list.New(),
	}
}

// level refills b up to now and returns its tokens.
func (l *limiter) level(b *bucket, now time.Time) float64 {
	if el := now.Sub(b.last); el > 0 {
		b.tokens += float64(el) / float64(l.refill)
		if b.tokens > l.burst {
			b.tokens = l.burst
		}
		b.last = now
	}
	if b.tokens >= 1 {
		b.warned = false
	}
	return b.tokens
}

// take reports whether key may try to log in; first is true for the first refusal
// since the bucket ran dry (so that a flood is logged once, not per request). While
// key recovers from failures (its bucket below full), a try takes its token up front
// (reserved), so that concurrent tries cannot all pass one check before any failure
// is counted: a try that fails has paid, and refund returns the token of one that
// did not. A key that never failed, or has recovered, takes nothing, so correct
// clients are not slowed: the first failures of a fresh key are counted as they end.
func (l *limiter) take(key string, now time.Time) (ok, first, reserved bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, found := l.keys[key]
	if !found {
		return true, false, false
	}
	b := e.Value.(*bucket)
	l.lru.MoveToFront(e)
	switch level := l.level(b, now); {
	case level >= l.burst: // recovered: as if it never failed
		return true, false, false
	case level >= 1:
		b.tokens--
		return true, false, true
	}
	first = !b.warned
	b.warned = true
	return false, first, false
}

// refund returns the token a try took that did not fail.
func (l *limiter) refund(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, found := l.keys[key]; found {
		b := e.Value.(*bucket)
		l.level(b, now)
		b.tokens = min(b.tokens+1, l.burst)
	}
}

// fail takes a token from key's bucket.
func (l *limiter) fail(key string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b *bucket
	if e, found := l.keys[key]; found {
		b = e.Value.(*bucket)
		l.level(b, now)
		l.lru.MoveToFront(e)
	} else {
		b = &bucket{key: key, tokens: l.burst, last: now}
		l.keys[key] = l.lru.PushFront(b)
		for l.lru.Len() > l.max {
			old := l.lru.Back()
			l.lru.Remove(old)
			delete(l.keys, old.Value.(*bucket).key)
		}
	}
	b.tokens--
	if b.tokens < 0 {
		b.tokens = 0
	}
}

func (l *limiter) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lru.Len()
}
