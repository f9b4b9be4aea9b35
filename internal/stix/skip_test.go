package stix

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"quadshare/internal/realdata"
)

// skipValid is json.Valid by way of SkipValue: one value, then only whitespace.
func skipValid(in []byte) bool {
	end, err := SkipValue(in, 0)
	return err == nil && SkipSpace(in, end) == len(in)
}

var skipCases = []string{
	``, ` `, `{}`, `[]`, ` [ ] `, `{ }`, `{"a":1}`, `{"a":1,}`, `{,"a":1}`, `{"a" 1}`, `{"a":}`,
	`{"a":1 "b":2}`, `{1:2}`, `{"a":1]`, `[1}`, `[1,]`, `[,1]`, `[1 2]`, `[[[]]]`, `[[[]]`, `[]]`,
	`"`, `""`, `"\"`, `"\\"`, `"\/\b\f\n\r\t"`, `"\a"`, `"\u00e9"`, `"\u00G9"`, `"\u00e"`, `"\ud800"`,
	`"\udc00\ud800"`, "\"\x00\"", "\"\x1f\"", "\"\x7f\"", "\"\xff\xfe\"", "\"\xc3\"", "\"\t\"", "\"\n\"",
	`0`, `-0`, `-`, `01`, `1.`, `1.5`, `.5`, `1e`, `1e+`, `1e+5`, `1E-5`, `-1.5e10`, `+1`, `1x`,
	`123456789012345678901234567890e99999999`, `0.0000000000000000000000000001`, `-01`, `1.e5`,
	`true`, `tru`, `truex`, `false`, `fals`, `null`, `nul`, `nulll`, `True`, `NaN`, `Infinity`,
	`{"a":{"b":[1,{"c":null}]}}`, `{"a":"}"}`, `["]"]`, `{"a":"\\"}`, `{"a":"\\\""}`, "\xef\xbb\xbf{}",
	"{\"a\":1,\"a\":2}", "{\n\t\"a\" :\r\n [ 1 , 2 ]\n}", `{"a":1}x`, `{"a":1} `, `"abcdefgh\"ijklmnop"`,
	`"0123456789abcdef0123456789abcdef"`, "\"0123456789abcdef\x01456789\"", `"0123456789abcde\`,
}

func TestSkipValueMatchesEncodingJSON(t *testing.T) {
	check := func(in []byte) {
		t.Helper()
		if got, want := skipValid(in), json.Valid(in); got != want {
			t.Errorf("%.80q: SkipValue says valid %v, encoding/json %v", in, got, want)
		}
	}
	for _, c := range skipCases {
		check([]byte(c))
		// Every prefix, so that every end of input inside a value is met.
		for n := range len(c) {
			check([]byte(c[:n]))
		}
	}
	for _, c := range validObjects {
		check([]byte(c))
	}
	// Nesting at encoding/json's limit and one beyond it, of arrays and objects.
	for _, d := range []int{64, 65, DecoderDepth - 1, DecoderDepth, DecoderDepth + 1} {
		check([]byte(strings.Repeat("[", d) + strings.Repeat("]", d)))
		check([]byte(strings.Repeat(`{"a":`, d-1) + "{}" + strings.Repeat("}", d-1)))
		check([]byte(strings.Repeat(`[{"a":`, d/2) + "1" + strings.Repeat("}]", d/2)))
		check([]byte(strings.Repeat("[", d))) // unclosed
	}
}

// The value ends where encoding/json's RawMessage ends, whatever follows it.
func TestSkipValueEnd(t *testing.T) {
	for _, c := range []struct {
		in  string
		end int
	}{
		{` {"a":1} ,`, 8}, {`"x"y`, 3}, {`1x`, 1}, {`01`, 1}, {`truex`, 4}, {`[] ]`, 2}, {` null`, 5},
	} {
		if end, err := SkipValue([]byte(c.in), 0); err != nil || end != c.end {
			t.Errorf("%q: end %d, %v; want %d", c.in, end, err, c.end)
		}
	}
}

func TestSkipValueRealObjects(t *testing.T) {
	raw, err := os.ReadFile(realdata.Path(t, "stix/ics-attack-18.1.json"))
	if err != nil {
		t.Fatal(err)
	}
	var b struct{ Objects []json.RawMessage }
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatal(err)
	}
	if !skipValid(raw) {
		t.Error("the bundle is not valid to SkipValue")
	}
	for i, o := range b.Objects {
		if end, err := SkipValue(o, 0); err != nil || end != len(o) {
			t.Fatalf("object %d: end %d of %d, %v", i, end, len(o), err)
		}
	}
}

func FuzzSkipValue(f *testing.F) {
	for _, c := range skipCases {
		f.Add([]byte(c))
	}
	for _, c := range validObjects {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if got, want := skipValid(in), json.Valid(in); got != want {
			t.Fatalf("%q: SkipValue says valid %v, encoding/json %v", in, got, want)
		}
		start := SkipSpace(in, 0)
		end, err := SkipValue(in, 0)
		if end < start || end > len(in) {
			t.Fatalf("%q: end %d outside [%d, %d]", in, end, start, len(in))
		}
		if err == nil && !json.Valid(in[start:end]) {
			t.Fatalf("%q: the value found, %q, is not valid", in, in[start:end])
		}
	})
}
