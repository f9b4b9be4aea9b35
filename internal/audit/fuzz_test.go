package audit

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"testing"
)

// FuzzRecord feeds ParseRecord hostile JSON: it must never panic, only accept
// records within the limits, and what it accepts must marshal back to a form
// that parses to the same record and hash.
func FuzzRecord(f *testing.F) {
	_, priv := testKey(f, 1)
	m := buildTrail(f, rand.New(rand.NewPCG(1, 2)), priv, 20, 1000, false)
	for _, r := range m.recs {
		b, err := MarshalRecord(r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"seq":1,"prev":"` + string(bytes.Repeat([]byte("0"), 64)) + `","hash":"` + string(bytes.Repeat([]byte("f"), 64)) + `","kind":"x","time":"1970-01-01T00:00:00Z","detail":{"a":[1,2,{"b":null}],"\u00e9":1e400}}`))
	f.Add([]byte(`{"seq":9223372036854775807,"prev":"","hash":"","kind":"a-","time":"9999-12-31T23:59:59.999999+14:00","objects":[{"id":"\ud800"}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseRecord(data)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		h, err := HashRecord(r)
		if err != nil {
			t.Fatalf("accepted record cannot be hashed: %v", err)
		}
		b, err := MarshalRecord(r)
		if err != nil {
			t.Fatalf("accepted record cannot be marshalled: %v", err)
		}
		r2, err := ParseRecord(b)
		if err != nil {
			t.Fatalf("marshalled form %s does not parse: %v", b, err)
		}
		h2, err := HashRecord(r2)
		if err != nil || h2 != h || r2.Hash != r.Hash || r2.PrevHash != r.PrevHash || r2.Seq != r.Seq {
			t.Fatalf("round trip changed the record: %s", b)
		}
		b2, err := MarshalRecord(r2)
		if err != nil || !bytes.Equal(b, b2) {
			t.Fatalf("marshalled forms differ:\n%s\n%s", b, b2)
		}
		// Chain must accept the entry whenever its kind is a known one.
		if knownKinds[r.Kind] {
			c, err := Chain(Record{Seq: r.Seq - 1, Hash: r.PrevHash}, r.Entry)
			if r.Seq == 1 && r.PrevHash != (Hash{}) {
				if err == nil {
					t.Fatal("chained after a zero record with a hash")
				}
				return
			}
			if err != nil {
				t.Fatalf("parsed entry refused by Chain: %v", err)
			}
			if c.Hash != h {
				t.Fatalf("Chain and HashRecord disagree: %s vs %s", c.Hash, h)
			}
		}
	})
}

// FuzzVerifyEdit replaces one record of a signed trail by a fuzzed JSON form
// of it: whenever the result is a different record, Verify must say so, and
// when it is the same record, Verify must find nothing.
func FuzzVerifyEdit(f *testing.F) {
	pub, priv := testKey(f, 1)
	base := buildTrail(f, rand.New(rand.NewPCG(3, 4)), priv, 30, 7, true)
	for i, r := range base.recs {
		b, err := MarshalRecord(r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(i), b)
		f.Add(uint8(i), bytes.Replace(b, []byte(`"seq":`), []byte(`"seq":1`), 1))
	}
	f.Fuzz(func(t *testing.T, at uint8, data []byte) {
		i := int(at) % len(base.recs)
		r, err := ParseRecord(data)
		if err != nil {
			return
		}
		m := &memTrail{recs: append([]Record(nil), base.recs...), cps: base.cps}
		m.recs[i] = r
		m.sortRecs()
		orig, _ := MarshalRecord(base.recs[i])
		now, err := MarshalRecord(r)
		if err != nil {
			t.Fatal(err)
		}
		rep, err := Verify(context.Background(), m, pub)
		if err != nil {
			t.Fatal(err)
		}
		if same := bytes.Equal(orig, now); same != rep.OK() {
			t.Fatalf("record %d replaced by %s (same: %v): %s", i, now, same, rep)
		}
	})
}
