package taxii

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"hash"
	"slices"
	"time"
)

// cursor is what a next token carries (TAXII 2.1 §3.4 next, §3.5). Paging walks the
// entries of a query in ascending date_added, which the store makes unique and strictly
// increasing, so "after the last entry seen" is exact: no entry is skipped or repeated.
// The snapshot bounds the walk to the entries that existed at the first page, so paging
// ends even while other clients keep adding, and the version filters (last, first) are
// decided on the same data from the first page to the last.
type cursor struct {
	Snapshot time.Time // Query.AddedUpTo, inclusive
	After    time.Time // Query.AddedAfter, exclusive: date_added of the last entry seen
	Expires  time.Time
}

const (
	tokenVersion = 1
	tokenPayload = 1 + 8 + 8 + 8
	tokenMAC     = 32
)

// tokenScope is everything a token is bound to: the endpoint, the collection, the
// object, the principal and every filter except limit and next. The token's MAC covers
// it, so a token cannot be replayed with another query, another collection or by
// another user (TAXII 2.1 Appendix B: the next parameter "MUST NOT be implicitly
// trusted, and the value MUST be reevaluated in the context of the provided query").
type tokenScope struct {
	Endpoint   endpoint
	Collection string
	Object     string
	Principal  string
	Filter     filter
}

func (s tokenScope) write(h hash.Hash) {
	var n [8]byte
	str := func(v string) {
		binary.BigEndian.PutUint64(n[:], uint64(len(v)))
		h.Write(n[:])
		h.Write([]byte(v))
	}
	list := func(tag string, vs []string) {
		vs = slices.Clone(vs)
		slices.Sort(vs)
		str(tag)
		binary.BigEndian.PutUint64(n[:], uint64(len(vs)))
		h.Write(n[:])
		for _, v := range vs {
			str(v)
		}
	}
	f := s.Filter
	str("quadshare taxii next v1")
	str(s.Endpoint.String())
	str(s.Collection)
	str(s.Object)
	str(s.Principal)
	str(f.AddedAfter.UTC().Format(time.RFC3339Nano))
	list("id", f.IDs)
	list("type", f.Types)
	list("spec_version", f.SpecVersions)
	vf := f.Versions
	var exact []string
	for _, ts := range vf.Exact {
		exact = append(exact, ts.Key())
	}
	list("version", exact)
	flags := []byte{0, 0, 0}
	if vf.First {
		flags[0] = 1
	}
	if vf.Last {
		flags[1] = 1
	}
	if vf.All {
		flags[2] = 1
	}
	h.Write(flags)
}

// tokens makes and checks next tokens with an HMAC-SHA256 key.
type tokens struct{ key []byte }

func (t tokens) mac(payload []byte, scope tokenScope) []byte {
	h := hmac.New(sha256.New, t.key)
	h.Write(payload)
	scope.write(h)
	return h.Sum(nil)
}

// encode returns the opaque, URL-safe next value for c under scope.
func (t tokens) encode(c cursor, scope tokenScope) string {
	b := make([]byte, tokenPayload, tokenPayload+tokenMAC)
	b[0] = tokenVersion
	binary.BigEndian.PutUint64(b[1:], nanos(c.Snapshot))
	binary.BigEndian.PutUint64(b[9:], nanos(c.After))
	binary.BigEndian.PutUint64(b[17:], uint64(c.Expires.Unix()))
	b = append(b, t.mac(b, scope)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// decode checks s against scope and returns its cursor. Any change to the token, any
// other query, and an expired token fail alike.
func (t tokens) decode(s string, scope tokenScope, now time.Time) (cursor, bool) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != tokenPayload+tokenMAC || b[0] != tokenVersion {
		return cursor{}, false
	}
	if !hmac.Equal(b[tokenPayload:], t.mac(b[:tokenPayload], scope)) {
		return cursor{}, false
	}
	c := cursor{
		Snapshot: fromNanos(binary.BigEndian.Uint64(b[1:])),
		After:    fromNanos(binary.BigEndian.Uint64(b[9:])),
		Expires:  time.Unix(int64(binary.BigEndian.Uint64(b[17:])), 0).UTC(),
	}
	if !now.Before(c.Expires) {
		return cursor{}, false
	}
	return c, true
}

// nanos is t in Unix nanoseconds, 0 for the zero time.
func nanos(t time.Time) uint64 {
	if t.IsZero() {
		return 0
	}
	return uint64(t.UnixNano())
}

func fromNanos(n uint64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, int64(n)).UTC()
}
