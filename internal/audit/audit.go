// Package audit is the tamper-evident audit trail: an append-only sequence of
// records, each chained to the one before it by a SHA-256 hash, with Ed25519
// signed checkpoints, and a verifier that says where the sequence was edited,
// cut, reordered or truncated.
//
// A caller describes what happened as an Entry (a disclosure, a receipt, a
// policy change, an administrative action, a peer event). A store appends it
// inside the transaction of the action it records: under its write lock it reads
// the last Record, calls Chain(last, entry) and inserts the result. The first
// record follows the zero Record, so Chain(Record{}, e) is the genesis record.
//
// # The record hash (version 1)
//
// Record.Hash is SHA-256 over this byte string, where u32/u64/i64 are
// big-endian, str(x) is u32(len(x)) followed by the UTF-8 bytes of x, and every
// field is present even when empty:
//
//	"quadshare-audit-record-v1"   25 bytes, no length prefix
//	u64(seq)                      1, 2, 3 …
//	prev                          32 bytes: the Hash of record seq-1; 32 zero bytes for seq 1
//	str(kind)
//	i64(time)                     microseconds since 1970-01-01T00:00:00Z
//	str(actor)
//	str(subject)
//	str(rule)
//	u32(n)                        the number of object references, then n times:
//	  str(id) str(version)
//	str(detail)                   the RFC 8785 (JCS) form of the detail object;
//	                              empty when there is no detail or it is {}
//
// Time has microsecond precision because that is what PostgreSQL keeps; Chain
// truncates it so that a record read back from any store hashes the same.
// Strings must be valid UTF-8 without control characters (PostgreSQL text holds
// no NUL, and JSON round trips must be exact).
//
// # Checkpoints
//
// A Checkpoint is the node's Ed25519 signature over
//
//	"quadshare-audit-checkpoint-v1" || u64(seq) || hash (32 bytes) || i64(time in microseconds)
//
// where hash is the Hash of record seq. Stores sign one every CheckpointEvery
// records (see Due) and on demand. Verify checks every signature and that each
// checkpoint agrees with the chain; a checkpoint beyond the last record shows a
// truncated tail.
package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
	"unicode/utf8"

	"quadshare/internal/stix"
)

// Limits on one entry. A disclosure of more objects than MaxObjects is split
// over several records by Batch.
const (
	MaxKind       = 32
	MaxText       = 512      // Actor, Subject, Rule
	MaxObjectID   = 288      // ObjectRef.ID: a STIX id is a type of up to 250 characters, "--" and a UUID
	MaxVersion    = 64       // ObjectRef.Version
	MaxObjects    = 1000     // object references in one record
	MaxDetail     = 16 << 10 // bytes of Detail (its canonical form)
	HashSize      = sha256.Size
	recordDomain  = "quadshare-audit-record-v1"
	minUnixMicros = 0                  // 1970-01-01
	maxUnixMicros = 253402300799999999 // 9999-12-31T23:59:59.999999Z
	timeLayout    = "2006-01-02T15:04:05.000000Z"
)

// Kind says what sort of action an entry records.
type Kind string

// The kinds Chain accepts. Verify and ParseRecord accept any kind that is a
// short lowercase token, so that a trail written by a later version still
// verifies.
const (
	// Disclosure: object versions sent to a recipient. Actor is the recipient
	// (user, organisation or peer), Subject the collection, Rule the policy rule
	// that allowed them, Objects the versions sent.
	Disclosure Kind = "disclosure"
	// Receipt: something received (an incident report, a push from a peer).
	Receipt Kind = "receipt"
	// PolicyChange: a sharing agreement, clearance or rule changed.
	PolicyChange Kind = "policy-change"
	// AdminAction: an account, key, collection or configuration changed.
	AdminAction Kind = "admin-action"
	// PeerEvent: a federation peer was added, removed, pinned or failed.
	PeerEvent Kind = "peer-event"
	// AuthEvent: a sign-in, a refused credential, a token issued or revoked.
	AuthEvent Kind = "auth-event"
)

var knownKinds = map[Kind]bool{
	Disclosure: true, Receipt: true, PolicyChange: true,
	AdminAction: true, PeerEvent: true, AuthEvent: true,
}

// ObjectRef names one version of a STIX object: its id and its modified
// timestamp (or created, for objects that have no versions).
type ObjectRef struct {
	ID      string
	Version string
}

// Entry is what a caller records.
type Entry struct {
	Kind Kind
	// Time of the action; truncated to microseconds by Chain.
	Time time.Time
	// Actor who acted, by kind and id: "user:<id>", "org:<id>", "node:<id>",
	// "peer:<name>". For a disclosure, the recipient.
	Actor string
	// Subject what the action was about: "collection:<id>", "user:<id>",
	// "report:<id>", "policy:<id>", "object:<id>@<version>".
	Subject string
	// Rule the policy rule that decided, for disclosures and refusals.
	Rule string
	// Objects the object versions concerned, at most MaxObjects.
	Objects []ObjectRef
	// Detail a JSON object of further facts, at most MaxDetail bytes once
	// canonical. Empty means none.
	Detail json.RawMessage
}

// Hash is a SHA-256 digest.
type Hash [HashSize]byte

// String returns the hash in lowercase hexadecimal.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// MarshalText encodes the hash as lowercase hexadecimal.
func (h Hash) MarshalText() ([]byte, error) {
	out := make([]byte, hex.EncodedLen(HashSize))
	hex.Encode(out, h[:])
	return out, nil
}

// UnmarshalText decodes 64 hexadecimal digits.
func (h *Hash) UnmarshalText(b []byte) error {
	p, err := ParseHash(string(b))
	if err != nil {
		return err
	}
	*h = p
	return nil
}

// ParseHash decodes 64 hexadecimal digits.
func ParseHash(s string) (Hash, error) {
	var h Hash
	if len(s) != hex.EncodedLen(HashSize) {
		return h, fmt.Errorf("%w: hash: want %d hex digits, got %d", ErrInvalid, hex.EncodedLen(HashSize), len(s))
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, fmt.Errorf("%w: hash: %v", ErrInvalid, err)
	}
	return h, nil
}

// HashFromBytes returns the hash held in b, as a store reads it from a
// binary column; b must have exactly HashSize bytes.
func HashFromBytes(b []byte) (Hash, error) {
	if len(b) != HashSize {
		return Hash{}, fmt.Errorf("%w: hash: %d bytes, want %d", ErrInvalid, len(b), HashSize)
	}
	return Hash(b), nil
}

// Record is an Entry in its place in the chain.
type Record struct {
	Seq      int64
	PrevHash Hash
	Hash     Hash
	Entry
}

// ErrInvalid is wrapped by every error about an entry or record that breaks
// the rules of this package.
var ErrInvalid = errors.New("audit: invalid")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// Chain returns the record that follows prev and holds e. Pass the zero Record
// as prev for the first record. Chain does not change prev or e; the Entry in
// the result has its time truncated to microseconds in UTC, Detail in canonical
// form (nil for none) and nil Objects when there are none. It fails on an entry
// that breaks the limits, an unknown Kind, or a prev that cannot have a
// successor.
func Chain(prev Record, e Entry) (Record, error) {
	if prev.Seq < 0 || prev.Seq == 1<<63-1 {
		return Record{}, invalid("previous seq %d", prev.Seq)
	}
	if prev.Seq == 0 && prev.Hash != (Hash{}) {
		return Record{}, invalid("previous record has seq 0 but a hash")
	}
	if !knownKinds[e.Kind] {
		return Record{}, invalid("unknown kind %q", e.Kind)
	}
	n, err := normalize(e, true)
	if err != nil {
		return Record{}, err
	}
	r := Record{Seq: prev.Seq + 1, PrevHash: prev.Hash, Entry: n}
	r.Hash = hashRecord(&r, r.Detail)
	return r, nil
}

// Check reports whether Chain would accept every entry, without hashing: a
// store checks a caller's entries with it before they join a transaction shared
// with other callers.
func Check(es []Entry) error {
	for i, e := range es {
		if !knownKinds[e.Kind] {
			return fmt.Errorf("audit: entry %d: %w", i, invalid("unknown kind %q", e.Kind))
		}
		if _, err := normalize(e, false); err != nil {
			return fmt.Errorf("audit: entry %d: %w", i, err)
		}
	}
	return nil
}

// ChainAll chains the entries in order after prev, as one transaction would.
func ChainAll(prev Record, es []Entry) ([]Record, error) {
	out := make([]Record, 0, len(es))
	for i, e := range es {
		r, err := Chain(prev, e)
		if err != nil {
			return nil, fmt.Errorf("audit: entry %d: %w", i, err)
		}
		out = append(out, r)
		prev = r
	}
	return out, nil
}

// normalize checks e and returns it in the form that is hashed and stored, with
// its own copy of the object references when own is set.
func normalize(e Entry, own bool) (Entry, error) {
	if err := checkKind(e.Kind); err != nil {
		return Entry{}, err
	}
	if e.Time.IsZero() {
		return Entry{}, invalid("time is missing")
	}
	e.Time = e.Time.UTC().Truncate(time.Microsecond)
	if us := e.Time.UnixMicro(); us < minUnixMicros || us > maxUnixMicros {
		return Entry{}, invalid("time %s outside 1970..9999", e.Time.Format(time.RFC3339))
	}
	for _, f := range []struct{ name, v string }{{"actor", e.Actor}, {"subject", e.Subject}, {"rule", e.Rule}} {
		if err := checkText(f.name, f.v, MaxText); err != nil {
			return Entry{}, err
		}
	}
	if len(e.Objects) > MaxObjects {
		return Entry{}, invalid("%d objects, at most %d in one record", len(e.Objects), MaxObjects)
	}
	if len(e.Objects) == 0 {
		e.Objects = nil
	} else if own {
		e.Objects = append([]ObjectRef(nil), e.Objects...)
	}
	for i, o := range e.Objects {
		if o.ID == "" {
			return Entry{}, invalid("object %d: id is empty", i)
		}
		if err := checkText("id", o.ID, MaxObjectID); err != nil {
			return Entry{}, fmt.Errorf("object %d: %w", i, err)
		}
		if err := checkText("version", o.Version, MaxVersion); err != nil {
			return Entry{}, fmt.Errorf("object %d: %w", i, err)
		}
	}
	d, err := canonicalDetail(e.Detail)
	if err != nil {
		return Entry{}, err
	}
	e.Detail = d
	return e, nil
}

func checkKind(k Kind) error {
	if len(k) == 0 || len(k) > MaxKind {
		return invalid("kind %q: want 1 to %d characters", k, MaxKind)
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		ok := c >= 'a' && c <= 'z' || i > 0 && (c == '-' || c >= '0' && c <= '9')
		if !ok {
			return invalid("kind %q: want lowercase letters, digits and '-'", k)
		}
	}
	return nil
}

func checkText(name, v string, limit int) error {
	if len(v) > limit {
		return invalid("%s: %d bytes, at most %d", name, len(v), limit)
	}
	if printableASCII(v) { // the common case, ids and timestamps
		return nil
	}
	if !utf8.ValidString(v) {
		return invalid("%s: not valid UTF-8", name)
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 {
			return invalid("%s: control character %U", name, r)
		}
	}
	return nil
}

// printableASCII reports whether v has only bytes 0x20 to 0x7e. It looks at
// eight bytes at a time: a disclosure of a page names a hundred ids and
// versions, each checked when the caller's call is queued and again when chained.
func printableASCII(v string) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	i := 0
	for ; i+8 <= len(v); i += 8 {
		w := uint64(v[i]) | uint64(v[i+1])<<8 | uint64(v[i+2])<<16 | uint64(v[i+3])<<24 |
			uint64(v[i+4])<<32 | uint64(v[i+5])<<40 | uint64(v[i+6])<<48 | uint64(v[i+7])<<56
		// A byte below 0x20 borrows in w-0x20…, setting a high bit that w lacks;
		// one of 0x7f or above carries into its high bit in w+0x01…, or has it in w.
		if (w-0x20*ones)&^w&highs|(w+ones|w)&highs != 0 {
			return false
		}
	}
	for ; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c >= 0x7f {
			return false
		}
	}
	return true
}

// canonicalDetail returns the canonical form of a detail object, nil for none.
func canonicalDetail(d json.RawMessage) (json.RawMessage, error) {
	if len(bytes.TrimSpace(d)) == 0 {
		return nil, nil
	}
	if len(d) > 4*MaxDetail {
		return nil, invalid("detail: %d bytes, at most %d", len(d), MaxDetail)
	}
	t := bytes.TrimLeft(d, " \t\r\n")
	if t[0] != '{' {
		return nil, invalid("detail: not a JSON object")
	}
	c, err := stix.Canonical(d)
	if err != nil {
		return nil, invalid("detail: %v", err)
	}
	if len(c) > MaxDetail {
		return nil, invalid("detail: %d bytes, at most %d", len(c), MaxDetail)
	}
	if string(c) == "{}" {
		return nil, nil
	}
	return c, nil
}

// HashRecord recomputes the hash of r from its Seq, PrevHash and Entry, with
// Detail in canonical form. It does not look at r.Hash.
func HashRecord(r Record) (Hash, error) {
	if err := checkRecord(&r); err != nil {
		return Hash{}, err
	}
	d, err := canonicalDetail(r.Detail)
	if err != nil {
		return Hash{}, err
	}
	return hashRecord(&r, d), nil
}

// checkRecord applies the limits of the format (not the set of known kinds).
func checkRecord(r *Record) error {
	if r.Seq < 1 {
		return invalid("seq %d", r.Seq)
	}
	if err := checkKind(r.Kind); err != nil {
		return err
	}
	if r.Time.IsZero() {
		return invalid("time is missing")
	}
	if r.Time.Nanosecond()%1000 != 0 {
		return invalid("time has more than microsecond precision")
	}
	if us := r.Time.UnixMicro(); us < minUnixMicros || us > maxUnixMicros {
		return invalid("time outside 1970..9999")
	}
	for _, f := range []struct{ name, v string }{{"actor", r.Actor}, {"subject", r.Subject}, {"rule", r.Rule}} {
		if err := checkText(f.name, f.v, MaxText); err != nil {
			return err
		}
	}
	if len(r.Objects) > MaxObjects {
		return invalid("%d objects, at most %d", len(r.Objects), MaxObjects)
	}
	if len(r.Detail) > 4*MaxDetail {
		return invalid("detail: %d bytes, at most %d", len(r.Detail), MaxDetail)
	}
	for i, o := range r.Objects {
		if o.ID == "" {
			return invalid("object %d: id is empty", i)
		}
		if err := checkText("object id", o.ID, MaxObjectID); err != nil {
			return err
		}
		if err := checkText("object version", o.Version, MaxVersion); err != nil {
			return err
		}
	}
	return nil
}

// hashRecord computes the version 1 hash with detail already canonical.
func hashRecord(r *Record, detail []byte) Hash {
	size := len(recordDomain) + 8 + HashSize + 4 + len(r.Kind) + 8 +
		12 + len(r.Actor) + len(r.Subject) + len(r.Rule) + 4 + 4 + len(detail)
	for _, o := range r.Objects {
		size += 8 + len(o.ID) + len(o.Version)
	}
	var stack [1024]byte
	b := stack[:0]
	if size > len(stack) {
		b = make([]byte, 0, size)
	}
	b = append(b, recordDomain...)
	b = binary.BigEndian.AppendUint64(b, uint64(r.Seq))
	b = append(b, r.PrevHash[:]...)
	b = appendStr(b, string(r.Kind))
	b = binary.BigEndian.AppendUint64(b, uint64(r.Time.UnixMicro()))
	b = appendStr(b, r.Actor)
	b = appendStr(b, r.Subject)
	b = appendStr(b, r.Rule)
	b = binary.BigEndian.AppendUint32(b, uint32(len(r.Objects)))
	for _, o := range r.Objects {
		b = appendStr(b, o.ID)
		b = appendStr(b, o.Version)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(detail)))
	b = append(b, detail...)
	return sha256.Sum256(b)
}

func appendStr(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}
