package stix

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

func fuzzSeeds(f *testing.F) {
	for _, s := range validObjects {
		f.Add([]byte(s))
	}
	for _, b := range brokenObjects(f) {
		f.Add([]byte(b.raw))
	}
	for _, v := range scoIDVectors {
		f.Add([]byte(v))
	}
	for _, id := range append(TLPMarkings(1), TLPMarkings(2)...) {
		f.Add(TLPDefinition(id))
	}
	for _, s := range []string{
		`{}`, `[]`, `{"type":"x"}`, `{"a":"\ud83d\ude00","b":"\u0000"}`, `{"a":1e999}`,
		`{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":[{"type":"identity"}]}`,
		"{\"type\":\"note\",\"id\":\"note--0c7b5b88-8ff7-4a4d-aa9d-feb398cd0061\",\"content\":\"\xff\"}",
	} {
		f.Add([]byte(s))
	}
}

func FuzzDecode(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		o, err := Decode(data)
		if c, cerr := Canonical(data); cerr == nil {
			c2, err := Canonical(c)
			if err != nil || !bytes.Equal(c, c2) {
				t.Fatalf("Canonical not stable: %v\n%s\n%s", err, c, c2)
			}
		}
		if err != nil {
			return
		}
		o2, err := Decode(o.Raw)
		if err != nil {
			t.Fatalf("Decode(Raw) fails: %v\n%s", err, o.Raw)
		}
		if o2.ID != o.ID || o2.Type != o.Type || o2.SpecVersion != o.SpecVersion ||
			o2.Version().Key() != o.Version().Key() || o2.Name != o.Name || o2.Description != o.Description {
			t.Fatalf("fields changed:\n%+v\n%+v", o, o2)
		}
		if !bytes.Equal(o2.Raw, o.Raw) {
			t.Fatalf("Raw not stable:\n%s\n%s", o.Raw, o2.Raw)
		}
	})
}

func FuzzParse(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		o, err := Parse(data)
		if err != nil {
			var errs Errors
			if errors.As(err, &errs) && len(errs) == 0 {
				t.Fatal("empty Errors returned as an error")
			}
			return
		}
		o2, err := Decode(o.Raw)
		if err != nil {
			t.Fatalf("Decode(Raw) fails: %v", err)
		}
		if o2.ID != o.ID || o2.Type != o.Type || o2.Version().Key() != o.Version().Key() || !bytes.Equal(o2.Raw, o.Raw) {
			t.Fatalf("not stable:\n%+v\n%+v", o, o2)
		}
		if err := Validate(&o2); err != nil {
			t.Fatalf("valid object invalid after compaction: %v", err)
		}
	})
}

func FuzzReader(f *testing.F) {
	fuzzSeeds(f)
	f.Add([]byte(`{"objects":[{"a":1},{"b":[2]}],"more":false}`))
	f.Add([]byte(`[{"a":1} , {"b":"]}"}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		// The reader scans what is buffered a window at a time: fed one byte per read,
		// every window is one byte, and it must find the same objects and errors.
		if whole, bytewise := readTrace(bytes.NewReader(data)), readTrace(iotest.OneByteReader(bytes.NewReader(data))); whole != bytewise {
			t.Fatalf("read whole:\n%s\nread a byte at a time:\n%s", whole, bytewise)
		}
		r := NewReader(bytes.NewReader(data))
		for i := 0; ; i++ {
			raw, err := r.Next()
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, ErrStream) {
					t.Fatalf("error %v wraps neither io.EOF nor ErrStream", err)
				}
				return
			}
			if r.Offset() < 0 || r.Offset() >= int64(len(data)) || len(raw) == 0 || raw[0] != '{' {
				t.Fatalf("object %d at offset %d: %q", i, r.Offset(), raw)
			}
			if i > len(data) {
				t.Fatal("more objects than bytes")
			}
		}
	})
}

// readTrace reads every object of in and describes them, with their offsets and lines,
// and the error that ended the stream.
func readTrace(in io.Reader) string {
	var b strings.Builder
	r := NewReader(in)
	for {
		raw, err := r.Next()
		if err != nil {
			fmt.Fprintf(&b, "end: %v\n", err)
			return b.String()
		}
		fmt.Fprintf(&b, "@%d line %d: %q\n", r.Offset(), r.Line(), raw)
	}
}
