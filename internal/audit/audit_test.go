package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// TestHashKnownAnswer builds the hashed bytes by hand from the format in the
// package documentation, so a change of the encoding cannot pass unnoticed.
func TestHashKnownAnswer(t *testing.T) {
	tm := time.Date(2026, 11, 22, 4, 0, 0, 1234, time.FixedZone("X", 3600)) // 1234 ns: truncated to 1 µs
	e := Entry{
		Kind: Disclosure, Time: tm, Actor: "peer:jp", Subject: "collection:c1", Rule: "r1",
		Objects: []ObjectRef{{ID: "indicator--1", Version: "v1"}, {ID: "malware--2"}},
		Detail:  []byte(` { "b" : 1.0, "a" : "é" } `),
	}
	r1, err := Chain(Record{}, e)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	b.WriteString("quadshare-audit-record-v1")
	b.Write(mustHex(t, "0000000000000001"))
	b.Write(make([]byte, 32))
	b.Write(mustHex(t, "0000000a"))
	b.WriteString("disclosure")
	us := time.Date(2026, 11, 22, 3, 0, 0, 1000, time.UTC).UnixMicro()
	b.Write([]byte{byte(us >> 56), byte(us >> 48), byte(us >> 40), byte(us >> 32), byte(us >> 24), byte(us >> 16), byte(us >> 8), byte(us)})
	b.Write(mustHex(t, "00000007"))
	b.WriteString("peer:jp")
	b.Write(mustHex(t, "0000000d"))
	b.WriteString("collection:c1")
	b.Write(mustHex(t, "00000002"))
	b.WriteString("r1")
	b.Write(mustHex(t, "00000002"))
	b.Write(mustHex(t, "0000000c"))
	b.WriteString("indicator--1")
	b.Write(mustHex(t, "00000002"))
	b.WriteString("v1")
	b.Write(mustHex(t, "0000000a"))
	b.WriteString("malware--2")
	b.Write(mustHex(t, "00000000"))
	canon := `{"a":"é","b":1}`
	b.Write([]byte{0, 0, 0, byte(len(canon))})
	b.WriteString(canon)
	if want := sha256.Sum256(b.Bytes()); r1.Hash != want {
		t.Fatalf("hash %s, want %x", r1.Hash, want)
	}
	if r1.Seq != 1 || r1.PrevHash != (Hash{}) || string(r1.Detail) != canon || !r1.Time.Equal(tm.Truncate(time.Microsecond)) || r1.Time.Location() != time.UTC {
		t.Fatalf("record 1 not normalised: %+v", r1)
	}

	// Record 2 names record 1; an empty detail and no objects are zero lengths.
	r2, err := Chain(r1, Entry{Kind: AdminAction, Time: time.Unix(0, 0), Detail: []byte("{}")})
	if err != nil {
		t.Fatal(err)
	}
	b.Reset()
	b.WriteString("quadshare-audit-record-v1")
	b.Write(mustHex(t, "0000000000000002"))
	b.Write(r1.Hash[:])
	b.Write(mustHex(t, "0000000c"))
	b.WriteString("admin-action")
	b.Write(make([]byte, 8+4+4+4+4+4))
	if want := sha256.Sum256(b.Bytes()); r2.Hash != want || r2.PrevHash != r1.Hash || r2.Detail != nil {
		t.Fatalf("record 2: hash %s, want %x; prev %s; detail %q", r2.Hash, want, r2.PrevHash, r2.Detail)
	}
	if h, err := HashRecord(r2); err != nil || h != r2.Hash {
		t.Fatalf("HashRecord: %s, %v", h, err)
	}
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestChainDoesNotAliasCaller(t *testing.T) {
	objs := []ObjectRef{{ID: "indicator--1", Version: "v"}}
	r, err := Chain(Record{}, Entry{Kind: Disclosure, Time: t0, Objects: objs})
	if err != nil {
		t.Fatal(err)
	}
	objs[0].ID = "changed"
	if r.Objects[0].ID != "indicator--1" {
		t.Fatal("the record shares the caller's object slice")
	}
	if h, _ := HashRecord(r); h != r.Hash {
		t.Fatal("record changed by the caller's edit")
	}
}

func TestChainRejects(t *testing.T) {
	ok := Entry{Kind: Receipt, Time: t0, Actor: "user:a"}
	many := make([]ObjectRef, MaxObjects+1)
	for i := range many {
		many[i] = ObjectRef{ID: "x"}
	}
	tests := []struct {
		name string
		prev Record
		edit func(e *Entry)
	}{
		{"unknown kind", Record{}, func(e *Entry) { e.Kind = "receipts" }},
		{"empty kind", Record{}, func(e *Entry) { e.Kind = "" }},
		{"upper-case kind", Record{}, func(e *Entry) { e.Kind = "Receipt" }},
		{"no time", Record{}, func(e *Entry) { e.Time = time.Time{} }},
		{"time before 1970", Record{}, func(e *Entry) { e.Time = time.Date(1969, 12, 31, 23, 59, 59, 0, time.UTC) }},
		{"time after 9999", Record{}, func(e *Entry) { e.Time = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }},
		{"long actor", Record{}, func(e *Entry) { e.Actor = strings.Repeat("a", MaxText+1) }},
		{"NUL in subject", Record{}, func(e *Entry) { e.Subject = "a\x00" }},
		{"newline in rule", Record{}, func(e *Entry) { e.Rule = "a\nb" }},
		{"C1 control in actor", Record{}, func(e *Entry) { e.Actor = "a\u0085" }},
		{"invalid UTF-8", Record{}, func(e *Entry) { e.Actor = "a\xff" }},
		{"too many objects", Record{}, func(e *Entry) { e.Objects = many }},
		{"object without id", Record{}, func(e *Entry) { e.Objects = []ObjectRef{{Version: "v"}} }},
		{"long object id", Record{}, func(e *Entry) { e.Objects = []ObjectRef{{ID: strings.Repeat("i", MaxObjectID+1)}} }},
		{"long version", Record{}, func(e *Entry) { e.Objects = []ObjectRef{{ID: "i", Version: strings.Repeat("v", MaxVersion+1)}} }},
		{"detail array", Record{}, func(e *Entry) { e.Detail = []byte(`[]`) }},
		{"detail null", Record{}, func(e *Entry) { e.Detail = []byte(`null`) }},
		{"detail broken", Record{}, func(e *Entry) { e.Detail = []byte(`{"a":`) }},
		{"detail duplicate name", Record{}, func(e *Entry) { e.Detail = []byte(`{"a":1,"a":2}`) }},
		{"detail trailing", Record{}, func(e *Entry) { e.Detail = []byte(`{} {}`) }},
		{"detail too big", Record{}, func(e *Entry) { e.Detail = []byte(`{"a":"` + strings.Repeat("x", MaxDetail) + `"}`) }},
		{"detail huge", Record{}, func(e *Entry) { e.Detail = []byte(`{"a":"` + strings.Repeat(" ", 5*MaxDetail) + `"}`) }},
		{"negative prev", Record{Seq: -1}, func(*Entry) {}},
		{"prev at the end", Record{Seq: 1<<63 - 1}, func(*Entry) {}},
		{"zero prev with a hash", Record{Hash: Hash{1}}, func(*Entry) {}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := ok
			tt.edit(&e)
			_, err := Chain(tt.prev, e)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("got %v, want ErrInvalid", err)
			}
		})
	}
	if _, err := Chain(Record{}, ok); err != nil {
		t.Fatalf("the valid entry: %v", err)
	}
}

func TestChainAll(t *testing.T) {
	es := []Entry{{Kind: Receipt, Time: t0}, {Kind: PeerEvent, Time: t0}, {Kind: AuthEvent, Time: t0}}
	prev, err := Chain(Record{}, Entry{Kind: AdminAction, Time: t0})
	if err != nil {
		t.Fatal(err)
	}
	rs, err := ChainAll(prev, es)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range rs {
		if r.Seq != int64(i+2) || r.PrevHash != prev.Hash || r.Kind != es[i].Kind {
			t.Fatalf("record %d: %+v", i, r)
		}
		prev = r
	}
	es[1].Kind = "nope"
	if _, err := ChainAll(prev, es); err == nil || !strings.Contains(err.Error(), "entry 1") {
		t.Fatalf("bad entry 1: %v", err)
	}
}

func TestCheckpoint(t *testing.T) {
	pub, priv := testKey(t, 1)
	r, err := Chain(Record{}, Entry{Kind: AdminAction, Time: t0})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 22, 5, 0, 0, 999, time.UTC)
	c, err := Sign(priv, r, at)
	if err != nil {
		t.Fatal(err)
	}
	if c.Seq != 1 || c.Hash != r.Hash || !c.Time.Equal(at.Truncate(time.Microsecond)) {
		t.Fatalf("checkpoint %+v", c)
	}
	var msg bytes.Buffer
	msg.WriteString("quadshare-audit-checkpoint-v1")
	msg.Write(mustHex(t, "0000000000000001"))
	msg.Write(r.Hash[:])
	us := at.UnixMicro()
	msg.Write([]byte{byte(us >> 56), byte(us >> 48), byte(us >> 40), byte(us >> 32), byte(us >> 24), byte(us >> 16), byte(us >> 8), byte(us)})
	if !bytes.Equal(CheckpointMessage(c.Seq, c.Hash, c.Time), msg.Bytes()) {
		t.Fatal("checkpoint message differs from the documented one")
	}
	if err := c.Verify(pub); err != nil {
		t.Fatal(err)
	}
	otherPub, _ := testKey(t, 2)
	if err := c.Verify(otherPub); !errors.Is(err, ErrBadSignature) {
		t.Errorf("other key: %v", err)
	}
	if err := c.Verify(pub[:10]); err == nil || errors.Is(err, ErrBadSignature) {
		t.Errorf("short key must be a usage error: %v", err)
	}
	c2 := c
	c2.Time = c.Time.Add(time.Nanosecond)
	if err := c2.Verify(pub); !errors.Is(err, ErrBadSignature) {
		t.Errorf("sub-microsecond time: %v", err)
	}
	if _, err := Sign(priv[:5], r, at); err == nil {
		t.Error("short private key accepted")
	}
	if _, err := Sign(priv, Record{}, at); err == nil {
		t.Error("checkpoint of nothing accepted")
	}
	if _, err := Sign(priv, r, time.Time{}); err == nil {
		t.Error("checkpoint without time accepted")
	}
	for _, d := range []struct {
		seq, every int64
		want       bool
	}{{1000, 1000, true}, {999, 1000, false}, {0, 1000, false}, {5, 0, false}, {5, -1, false}, {10, 5, true}} {
		if got := Due(d.seq, d.every); got != d.want {
			t.Errorf("Due(%d, %d) = %v", d.seq, d.every, got)
		}
	}
}

func TestBatch(t *testing.T) {
	ref := func(i int) ObjectRef {
		return ObjectRef{ID: "indicator--" + strings.Repeat("0", i%7) + "1", Version: "2026-01-01T00:00:00.000Z"}
	}
	b := Batch{Time: t0, Actor: "peer:jp", Subject: "collection:c", Detail: []byte(`{"page":1}`)}
	if len(b.Entries()) != 0 {
		t.Fatal("empty batch has entries")
	}
	for i := range 100 {
		b.Add("agreement:jp", ref(i))
	}
	es := b.Entries()
	if len(es) != 1 || len(es[0].Objects) != 100 || es[0].Rule != "agreement:jp" || es[0].Kind != Disclosure {
		t.Fatalf("a page of 100 under one rule: %d entries", len(es))
	}
	b.Add("tlp:clear", ref(1), ref(2))
	for i := range 2*MaxObjects + 5 {
		b.Add("agreement:jp", ref(i))
	}
	es = b.Entries()
	if b.Len() != 100+2+2*MaxObjects+5 {
		t.Fatalf("Len %d", b.Len())
	}
	wantSizes := []int{MaxObjects, MaxObjects, 105, 2}
	if len(es) != len(wantSizes) {
		t.Fatalf("%d entries, want %d", len(es), len(wantSizes))
	}
	for i, e := range es {
		if len(e.Objects) != wantSizes[i] {
			t.Errorf("entry %d: %d objects, want %d", i, len(e.Objects), wantSizes[i])
		}
	}
	if es[3].Rule != "tlp:clear" || es[0].Rule != "agreement:jp" {
		t.Errorf("rules in order of first use: %q %q", es[0].Rule, es[3].Rule)
	}
	rs, err := ChainAll(Record{}, es)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 4 {
		t.Fatal(len(rs))
	}
	// Appending to an entry's objects must not reach into the next one.
	_ = append(es[0].Objects, ObjectRef{ID: "x"})
	if es[1].Objects[0].ID == "x" {
		t.Fatal("entries share backing arrays")
	}
}

func TestRecordJSON(t *testing.T) {
	_, priv := testKey(t, 1)
	m := buildTrail(t, rand.New(rand.NewPCG(8, 8)), priv, 200, 1000, false)
	for _, r := range m.recs {
		b, err := MarshalRecord(r)
		if err != nil {
			t.Fatal(err)
		}
		p, err := ParseRecord(b)
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if h, err := HashRecord(p); err != nil || h != r.Hash || p.Hash != r.Hash || p.PrevHash != r.PrevHash || p.Seq != r.Seq {
			t.Fatalf("round trip of %s: hash %s, %v", b, h, err)
		}
	}
	good := `{"seq":3,"prev":"` + strings.Repeat("ab", 32) + `","hash":"` + strings.Repeat("cd", 32) + `","kind":"receipt","time":"2026-11-22T04:00:00.000001Z"`
	if _, err := ParseRecord([]byte(good + `}`)); err != nil {
		t.Fatalf("minimal record: %v", err)
	}
	bad := []struct{ name, in string }{
		{"empty", ``},
		{"not an object", `[]`},
		{"unknown member", good + `,"extra":1}`},
		{"trailing data", good + `} {}`},
		{"short hash", strings.Replace(good, strings.Repeat("cd", 32), "cd", 1) + `}`},
		{"non-hex hash", strings.Replace(good, strings.Repeat("cd", 32), strings.Repeat("zz", 32), 1) + `}`},
		{"seq 0", strings.Replace(good, `"seq":3`, `"seq":0`, 1) + `}`},
		{"seq fraction", strings.Replace(good, `"seq":3`, `"seq":3.5`, 1) + `}`},
		{"no time", strings.Replace(good, `"time":"2026-11-22T04:00:00.000001Z"`, `"time":""`, 1) + `}`},
		{"nanosecond time", strings.Replace(good, `.000001Z`, `.000000001Z`, 1) + `}`},
		{"bad kind", strings.Replace(good, `"receipt"`, `"Receipt!"`, 1) + `}`},
		{"detail array", good + `,"detail":[1]}`},
		{"detail null", good + `,"detail":null}`},
		{"detail duplicate", good + `,"detail":{"a":1,"a":1}}`},
		{"object without id", good + `,"objects":[{"version":"v"}]}`},
		{"control char", good + `,"actor":"a\u0001"}`},
		{"too big", good + `,"actor":"` + strings.Repeat("a", MaxRecordJSON) + `"}`},
	}
	for _, tt := range bad {
		if _, err := ParseRecord([]byte(tt.in)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", tt.name, err)
		}
	}
	if _, err := MarshalRecord(Record{}); err == nil {
		t.Error("zero record marshalled")
	}
}

func TestHashFromBytes(t *testing.T) {
	want := sha256.Sum256([]byte("x"))
	h, err := HashFromBytes(want[:])
	if err != nil || h != Hash(want) {
		t.Fatalf("%s %v", h, err)
	}
	for _, n := range []int{0, 31, 33} {
		if _, err := HashFromBytes(make([]byte, n)); !errors.Is(err, ErrInvalid) {
			t.Errorf("%d bytes: %v", n, err)
		}
	}
	p, err := ParseHash(h.String())
	if err != nil || p != h {
		t.Fatalf("ParseHash(String()) = %s, %v", p, err)
	}
}

// TestPrintableASCII compares the eight-bytes-at-a-time check with the plain
// loop for every byte value at every position of a word, and on random text.
func TestPrintableASCII(t *testing.T) {
	plain := func(v string) bool {
		for i := 0; i < len(v); i++ {
			if c := v[i]; c < 0x20 || c >= 0x7f {
				return false
			}
		}
		return true
	}
	base := []byte("indicator--8e2e2d2b-17d4-4cbf-938f")
	for pos := range 17 {
		for c := range 256 {
			b := append([]byte(nil), base[:17]...)
			b[pos] = byte(c)
			for _, v := range []string{string(b), string(b[:pos+1]), string(b[pos:])} {
				if got, want := printableASCII(v), plain(v); got != want {
					t.Fatalf("printableASCII(%q) = %v, want %v", v, got, want)
				}
			}
		}
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for range 100000 {
		b := make([]byte, rng.IntN(40))
		for i := range b {
			b[i] = byte(0x1c + rng.IntN(8)) // around the low bound
			if rng.IntN(2) == 0 {
				b[i] = byte(0x7a + rng.IntN(10)) // around the high bound
			}
		}
		if got, want := printableASCII(string(b)), plain(string(b)); got != want {
			t.Fatalf("printableASCII(%q) = %v, want %v", b, got, want)
		}
	}
}
