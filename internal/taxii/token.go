package taxii

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"slices"
	"time"
)

// cursor is what a next token carries (TAXII 2.1 §3.4 next, §3.5). Paging walks the
// entries of a query in ascending date_added, which the store makes unique and strictly
// increasing, so "after the last entry seen" is exact: no entry is skipped or repeated.
// The snapshot bounds the walk to the entries that existed at the first page, so paging
// ends even while other clients keep adding, and the version filters (last, first) are
// decided on the same data from the first page to the last. After may be the date_added
// of a version withheld from the reader (a page that ran out of its scan budget), so an
// empty page shows Shown in its X-TAXII-Date-Added headers instead (§3.2).
type cursor struct {
	Snapshot time.Time // Query.AddedUpTo, inclusive
	After    time.Time // Query.AddedAfter, exclusive: date_added of the last entry seen
	Shown    time.Time // the X-TAXII-Date-Added-Last of the page that gave the token
	Expires  time.Time // whole seconds, 32 bits in the token (until 2106)
}

const (
	tokenVersion = 2 // 1 was the cursor in clear under an HMAC
	tokenPayload = 8 + 8 + 8 + 4
)

// tokenScope is everything a token is bound to: the endpoint, the collection, the
// object, the principal and every filter except limit and next. It is the additional
// data of the token's seal, so a token cannot be replayed with another query, another
// collection or by another user (TAXII 2.1 Appendix B: the next parameter "MUST NOT be
// implicitly trusted, and the value MUST be reevaluated in the context of the provided
// query").
type tokenScope struct {
	Endpoint   endpoint
	Collection string
	Object     string
	Principal  string
	Filter     filter
}

// digest is the version followed by a SHA-256 of the scope: the additional data.
func (s tokenScope) digest() []byte {
	h := sha256.New()
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
	str("quadshare taxii next scope")
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
	return h.Sum([]byte{tokenVersion})
}

// tokens makes and checks next tokens. The cursor is sealed with AES-256-GCM, not only
// signed: its times are date_added of stored entries, and the last one read for a page
// may be of a version withheld from the reader, whose existence the token must not
// tell (§1.6.9, Appendix B). The nonce is random (96 bits), so the same cursor never
// gives the same token either; a key seals at most 2^32 tokens (NIST SP 800-38D §8.3).
type tokens struct{ aead cipher.AEAD }

// newTokens derives the sealing key from the server's token key, so that the
// configured key is used for this purpose only.
func newTokens(key []byte) (tokens, error) {
	k, err := hkdf.Key(sha256.New, key, nil, "quadshare taxii next token aes-256-gcm", 32)
	if err != nil {
		return tokens{}, fmt.Errorf("taxii: token key: %w", err)
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return tokens{}, fmt.Errorf("taxii: token key: %w", err)
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return tokens{}, fmt.Errorf("taxii: token key: %w", err)
	}
	return tokens{aead: aead}, nil
}

// encode returns the opaque, URL-safe next value for c under scope: the version, then
// the nonce, the sealed cursor and the tag.
func (t tokens) encode(c cursor, scope tokenScope) string {
	var p [tokenPayload]byte
	binary.BigEndian.PutUint64(p[0:], nanos(c.Snapshot))
	binary.BigEndian.PutUint64(p[8:], nanos(c.After))
	binary.BigEndian.PutUint64(p[16:], nanos(c.Shown))
	binary.BigEndian.PutUint32(p[24:], uint32(c.Expires.Unix()))
	b := make([]byte, 1, 1+tokenPayload+t.aead.Overhead())
	b[0] = tokenVersion
	b = t.aead.Seal(b, nil, p[:], scope.digest())
	return base64.RawURLEncoding.EncodeToString(b)
}

// decode checks s against scope and returns its cursor. Any change to the token, any
// other query, and an expired token fail alike.
func (t tokens) decode(s string, scope tokenScope, now time.Time) (cursor, bool) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != 1+tokenPayload+t.aead.Overhead() || b[0] != tokenVersion {
		return cursor{}, false
	}
	p, err := t.aead.Open(nil, nil, b[1:], scope.digest())
	if err != nil {
		return cursor{}, false
	}
	c := cursor{
		Snapshot: fromNanos(binary.BigEndian.Uint64(p[0:])),
		After:    fromNanos(binary.BigEndian.Uint64(p[8:])),
		Shown:    fromNanos(binary.BigEndian.Uint64(p[16:])),
		Expires:  time.Unix(int64(binary.BigEndian.Uint32(p[24:])), 0).UTC(),
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
