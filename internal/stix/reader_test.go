package stix

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
)

const (
	objA = `{"type":"identity","spec_version":"2.1","id":"identity--311b2d2d-f010-4473-83ec-1edf84858f4c","created":"2017-01-01T00:00:00.000Z","modified":"2017-01-01T00:00:00.000Z","name":"A","x_list":[{"a":"]"}]}`
	objB = `{"type":"domain-name","id":"domain-name--bedb4899-d24b-5401-bc86-8f6b4cc18ec7","value":"example.com\"}{"}`
)

// readAll returns the objects, and for each its offset and line, and the final error.
func readAll(in string) (objs []string, offs []int64, lines []int, err error) {
	r := NewReader(strings.NewReader(in))
	for {
		raw, err := r.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			return objs, offs, lines, err
		}
		objs = append(objs, string(raw))
		offs = append(offs, r.Offset())
		lines = append(lines, r.Line())
	}
}

func TestReaderForms(t *testing.T) {
	tests := []struct {
		name, in string
	}{
		{"bundle", `{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":[` + objA + `,` + objB + `]}`},
		{"bundle, objects first", "{\n \"objects\": [\n  " + objA + ",\n  " + objB + "\n ],\n \"id\": \"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d\",\n \"type\": \"bundle\"\n}\n"},
		{"envelope", `{"more":true,"objects":[` + objA + `,` + objB + `],"next":"abc"}`},
		{"array", "[\n" + objA + ",\n" + objB + "\n]"},
		{"array with spaces", " [ " + objA + " , " + objB + " ] "},
	}
	for _, tt := range tests {
		objs, offs, _, err := readAll(tt.in)
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if len(objs) != 2 || objs[0] != objA || objs[1] != objB {
			t.Errorf("%s: objects %q", tt.name, objs)
			continue
		}
		for i, off := range offs {
			if !strings.HasPrefix(tt.in[off:], objs[i]) {
				t.Errorf("%s: offset %d of object %d does not point at it", tt.name, off, i)
			}
		}
	}
}

// TestReaderWindows reads inputs whose strings hold escapes, brackets and quotes
// both whole and a byte per read, so that every construct also falls across the
// edge of the buffered window: the objects, offsets, lines and errors must agree.
func TestReaderWindows(t *testing.T) {
	esc := `{"type":"x","a":"\\\\","b":"\"}{][","c":["\\\"",{"d":"]"}],"e":"\u005c"}`
	for _, in := range []string{
		"[\n" + objA + ",\n" + objB + "\n]",
		`{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":[` + esc + "\n,\n" + objB + `]}`,
		`[` + esc + `,{"a":"\"}]`,          // a string left open by an escaped quote
		`[` + esc + `,{"a":[}]`,            // mismatched bracket
		`[{"a":"x"}` + "\n\n" + `,{"b":1}`, // no closing bracket
	} {
		whole := readTrace(strings.NewReader(in))
		if bytewise := readTrace(iotest.OneByteReader(strings.NewReader(in))); bytewise != whole {
			t.Errorf("%s:\nwhole:\n%s\na byte per read:\n%s", in, whole, bytewise)
		}
		if !strings.Contains(whole, "@") && !strings.Contains(in, `"a":"\"}]`) {
			t.Errorf("%s: no object read:\n%s", in, whole)
		}
	}
	// The escaped backslash ends the string; the escaped quote does not.
	objs, _, _, err := readAll(`[` + esc + `]`)
	if err != nil || len(objs) != 1 || objs[0] != esc {
		t.Fatalf("objects %q, err %v; want the one object whole", objs, err)
	}
}

func TestReaderLines(t *testing.T) {
	in := "{\n \"type\": \"bundle\",\n \"id\": \"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d\",\n \"objects\": [\n  " + objA + ",\n\n  " + objB + "\n ]\n}"
	_, _, lines, err := readAll(in)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(lines) != "[5 7]" {
		t.Errorf("lines %v, want [5 7]", lines)
	}
}

// TestReaderLinesInsideObjects counts the lines an object spans, inside and outside
// its strings, for the line of the next.
func TestReaderLinesInsideObjects(t *testing.T) {
	in := "[{\n\"a\":\n[1,\n2],\"b\":\"x\\ny\"\n}\n,\n{\"c\":3}]"
	for _, r := range []io.Reader{strings.NewReader(in), iotest.OneByteReader(strings.NewReader(in))} {
		rd := NewReader(r)
		var lines []int
		for {
			if _, err := rd.Next(); err != nil {
				if !errors.Is(err, io.EOF) {
					t.Fatal(err)
				}
				break
			}
			lines = append(lines, rd.Line())
		}
		if fmt.Sprint(lines) != "[1 7]" {
			t.Errorf("lines %v, want [1 7]", lines)
		}
	}
}

func TestReaderEmptyEnvelope(t *testing.T) {
	for _, in := range []string{`{"more":false}`, `{}`, `{"more":true,"next":"x"}`, `{"objects":[]}`, `[]`} {
		objs, _, _, err := readAll(in)
		if err != nil || len(objs) != 0 {
			t.Errorf("%s: objects %q, err %v", in, objs, err)
		}
	}
}

func TestReaderSingleObject(t *testing.T) {
	in := "  {\n\"type\": \"observed-data\", \"id\": \"observed-data--b67d30ff-02ac-498a-92f9-32f845f448cf\", \"objects\": {\"0\": {\"type\": \"file\"}}}\n"
	objs, offs, _, err := readAll(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 1 || offs[0] != 2 {
		t.Fatalf("objects %q offsets %v", objs, offs)
	}
	o, err := Decode([]byte(objs[0]))
	if err != nil || o.Type != "observed-data" {
		t.Fatalf("%v %+v", err, o)
	}
}

func TestReaderErrors(t *testing.T) {
	bundle := func(id string) string {
		return `{"type":"bundle","id":"` + id + `","objects":[` + objA + `]}`
	}
	tests := []struct {
		name, in string
		before   int // objects returned before the error
	}{
		{"empty", ``, 0},
		{"not JSON", `hello`, 0},
		{"bad bundle id", bundle("bundle--nope"), 0},
		{"bundle id of another type", bundle("identity--311b2d2d-f010-4473-83ec-1edf84858f4c"), 0},
		{"bad bundle id after objects", `{"objects":[` + objA + `],"type":"bundle","id":"bundle--x"}`, 1},
		{"bundle without id", `{"type":"bundle","objects":[` + objA + `]}`, 1},
		{"id without type", `{"id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":[` + objA + `]}`, 1},
		{"element not an object", `[` + objA + `,"x"]`, 1},
		{"missing comma", `[` + objA + objA + `]`, 1},
		{"trailing comma", `[` + objA + `,]`, 1},
		{"truncated", `[` + objA + `,` + objA[:40], 1},
		{"mismatched brackets", `[{"a":[}]`, 0},
		{"data after the array", `[` + objA + `] x`, 1},
		{"data after the object", objA + ` {}`, 0},
		{"unterminated top object", `{"type":"bundle"`, 0},
	}
	for _, tt := range tests {
		objs, _, _, err := readAll(tt.in)
		if err == nil {
			t.Errorf("%s: no error", tt.name)
			continue
		}
		if len(objs) != tt.before {
			t.Errorf("%s: %d objects before the error %v, want %d", tt.name, len(objs), err, tt.before)
		}
		if !errors.Is(err, ErrStream) {
			t.Errorf("%s: error %v does not wrap ErrStream", tt.name, err)
		}
	}
}

func TestReaderErrorIsSticky(t *testing.T) {
	r := NewReader(strings.NewReader(`[1]`))
	_, err1 := r.Next()
	_, err2 := r.Next()
	if err1 == nil || err1 != err2 {
		t.Fatalf("errors %v then %v", err1, err2)
	}
}

func TestReaderBoundsObjectSize(t *testing.T) {
	big := `{"type":"x-big","x_s":"` + strings.Repeat("a", MaxObjectSize) + `"}`
	objs, _, _, err := readAll(`[` + objA + `,` + big + `]`)
	if err == nil || len(objs) != 1 {
		t.Fatalf("objects %d, err %v", len(objs), err)
	}
	if !strings.Contains(err.Error(), "larger than") {
		t.Errorf("error %v does not say the object is too large", err)
	}
}

// A large stream is read with a small, constant heap: objects are not accumulated.
func TestReaderStreamsInConstantMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	const n = 100_000 // about 30 MB of JSON
	pr, pw := io.Pipe()
	go func() {
		fmt.Fprint(pw, `{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":[`)
		for i := 0; i < n; i++ {
			if i > 0 {
				fmt.Fprint(pw, ",")
			}
			fmt.Fprint(pw, objA[:len(objA)-1]+`,"x_pad":"`+strings.Repeat("p", 100)+`"}`)
		}
		fmt.Fprint(pw, `]}`)
		pw.Close()
	}()
	runtime.GC() // drop what earlier tests left
	r := NewReader(pr)
	var ms runtime.MemStats
	var peak uint64
	count := 0
	for {
		_, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		count++
		if count%10000 == 0 {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
	}
	if count != n {
		t.Fatalf("read %d objects, want %d", count, n)
	}
	if peak > 16<<20 {
		t.Errorf("heap reached %d bytes while streaming", peak)
	}
}

type failingReader struct {
	data []byte
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

func TestReaderPassesOnReadErrors(t *testing.T) {
	boom := errors.New("disk on fire")
	r := NewReader(&failingReader{data: []byte(`[` + objA + `,` + objA[:30]), err: boom})
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	_, err := r.Next()
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v, want it to wrap the reader's error", err)
	}
}
