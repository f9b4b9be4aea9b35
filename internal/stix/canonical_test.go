package stix

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf16"

	"quadshare/internal/realdata"
)

// Vectors written from RFC 8785: §3.2.2 (serialization), §3.2.3 (sorting) and
// Appendix B (numbers).
func TestCanonicalRFC8785Examples(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{
			"§3.2.2 serialization",
			`{
  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
}`,
			`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`,
		},
		{
			"§3.2.3 sorting by UTF-16 code units",
			`{
  "\u20ac": "Euro Sign",
  "\r": "Carriage Return",
  "\ufb33": "Hebrew Letter Dalet With Dagesh",
  "1": "One",
  "\ud83d\ude00": "Emoji: Grinning Face",
  "\u0080": "Control",
  "\u00f6": "Latin Small Letter O With Diaeresis"
}`,
			"{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u0080\":\"Control\",\"ö\":\"Latin Small Letter O With Diaeresis\",\"€\":\"Euro Sign\",\"😀\":\"Emoji: Grinning Face\",\"דּ\":\"Hebrew Letter Dalet With Dagesh\"}",
		},
		{"nested and empty", `{ "b" : [ {}, [] ], "a" : { "z":1, "y":"\u0007" } }`, `{"a":{"y":"\u0007","z":1},"b":[{},[]]}`},
		{"scalar top level", ` "x" `, `"x"`},
	}
	for _, tt := range tests {
		got, err := Canonical([]byte(tt.in))
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if string(got) != tt.want {
			t.Errorf("%s:\n got %s\nwant %s", tt.name, got, tt.want)
		}
	}
}

func TestCanonicalNumbers(t *testing.T) {
	// RFC 8785 Appendix B: IEEE 754 bit patterns and their serialization.
	bits := []struct{ hex, want string }{
		{"0000000000000000", "0"},
		{"8000000000000000", "0"},
		{"0000000000000001", "5e-324"},
		{"8000000000000001", "-5e-324"},
		{"7fefffffffffffff", "1.7976931348623157e+308"},
		{"ffefffffffffffff", "-1.7976931348623157e+308"},
		{"4340000000000000", "9007199254740992"},
		{"c340000000000000", "-9007199254740992"},
		{"4430000000000000", "295147905179352830000"},
		{"44b52d02c7e14af5", "9.999999999999997e+22"},
		{"44b52d02c7e14af6", "1e+23"},
		{"44b52d02c7e14af7", "1.0000000000000001e+23"},
		{"444b1ae4d6e2ef4e", "999999999999999700000"},
		{"444b1ae4d6e2ef4f", "999999999999999900000"},
		{"444b1ae4d6e2ef50", "1e+21"},
		{"3eb0c6f7a0b5ed8c", "9.999999999999997e-7"},
		{"3eb0c6f7a0b5ed8d", "0.000001"},
		{"41b3de4355555553", "333333333.3333332"},
		{"41b3de4355555554", "333333333.33333325"},
		{"41b3de4355555555", "333333333.3333333"},
		{"41b3de4355555556", "333333333.3333334"},
		{"41b3de4355555557", "333333333.33333343"},
		{"becbf647612f3696", "-0.0000033333333333333333"},
		{"43143ff3c1cb0959", "1424953923781206.2"},
	}
	for _, b := range bits {
		u, err := strconv.ParseUint(b.hex, 16, 64)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(appendES6Number(nil, math.Float64frombits(u))); got != b.want {
			t.Errorf("%s: got %s, want %s", b.hex, got, b.want)
		}
	}
	// The same through Canonical, from JSON literals.
	lits := []struct{ in, want string }{
		{"1e21", "1e+21"},
		{"1e20", "100000000000000000000"},
		{"1e-7", "1e-7"},
		{"0.000001", "0.000001"},
		{"-0", "0"},
		{"-0.0", "0"},
		{"333333333.3333333", "333333333.3333333"},
		{"1.5E+2", "150"},
		{"123456789012345680000", "123456789012345680000"},
		{"0.1", "0.1"},
		{"100", "100"},
		{"-1.25e-10", "-1.25e-10"},
	}
	for _, l := range lits {
		got, err := Canonical([]byte(l.in))
		if err != nil {
			t.Errorf("%s: %v", l.in, err)
			continue
		}
		if string(got) != l.want {
			t.Errorf("%s: got %s, want %s", l.in, got, l.want)
		}
	}
}

func TestCanonicalRejects(t *testing.T) {
	for _, in := range []string{
		`1e400`,         // not a finite double
		`{"a":1,"a":2}`, // duplicate names (RFC 7493 §2.3)
		"\"\xff\"",      // invalid UTF-8
		`"\ud800"`,      // lone surrogate
		`{"a":1} x`,     // trailing data
		``,              // nothing
		`[1,]`,          // trailing comma
		`{"a":01}`,      // leading zero
		strings.Repeat("[", 70) + strings.Repeat("]", 70), // too deep
	} {
		if out, err := Canonical([]byte(in)); err == nil {
			t.Errorf("Canonical(%q) = %s, want an error", in, out)
		}
	}
}

func TestCanonicalIdempotent(t *testing.T) {
	in := `{"z":[1.0,2.50,{"b":"\u00e9","a":"\n"}],"a":-0,"m":1E-7}`
	once, err := Canonical([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	twice, err := Canonical(once)
	if err != nil {
		t.Fatal(err)
	}
	if string(once) != string(twice) {
		t.Fatalf("not idempotent:\n%s\n%s", once, twice)
	}
}

// memberOrder's shortcuts (in order already, ASCII names) give the order of the
// UTF-16 code units.
func TestMemberOrder(t *testing.T) {
	alphabet := []string{"a", "b", "Z", "_", "0", "ab", "a_", "\r", "é", "€", "😀", "\ufb33", "x-y", "z"}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		seen := map[string]bool{}
		var kids []node
		for range rng.IntN(8) {
			k := alphabet[rng.IntN(len(alphabet))] + alphabet[rng.IntN(len(alphabet))]
			if rng.IntN(2) == 0 {
				k = alphabet[rng.IntN(6)] + alphabet[rng.IntN(6)] // ASCII only, often
			}
			if !seen[k] {
				seen[k] = true
				kids = append(kids, node{key: k})
			}
		}
		if rng.IntN(3) == 0 { // often in order already
			slices.SortFunc(kids, func(a, b node) int { return strings.Compare(a.key, b.key) })
		}
		want := make([]string, len(kids))
		for i := range kids {
			want[i] = kids[i].key
		}
		slices.SortFunc(want, func(a, b string) int {
			return slices.Compare(utf16.Encode([]rune(a)), utf16.Encode([]rune(b)))
		})
		idx := memberOrder(kids)
		for j := range kids {
			i := j
			if idx != nil {
				i = idx[j]
			}
			if kids[i].key != want[j] {
				t.Fatalf("order %v, want %q", idx, want)
			}
		}
	}
}

// ParseCanonical gives Parse's object and error, and Canonical's form, from one
// parse: on a real bundle, on objects written in other orders and escapes, and on
// those Parse or Canonical refuse.
func TestParseCanonical(t *testing.T) {
	f, err := os.ReadFile(realdata.Path(t, "stix/ics-attack-18.1.json"))
	if err != nil {
		t.Fatal(err)
	}
	raws := [][]byte{
		[]byte(benchIndicator), []byte(benchReport),
		[]byte(` { "type" : "indicator", "spec_version":"2.1", "id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", ` +
			`"created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","pattern":"[domain-name:value = 'a\u00e9\/']",` +
			`"pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z","x_n":1.50,"x_\u00e9":{"b":1,"a":[2e0]}}`),
		[]byte(`{"type":"x-thing","spec_version":"2.1","id":"x-thing--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","x_big":1e400}`),
		[]byte(`{"type":"indicator","type":"indicator"}`),
		[]byte(`{"type":"indicator"}`),
	}
	r := NewReader(bytesReader(f))
	for {
		raw, err := r.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatal(err)
			}
			break
		}
		raws = append(raws, raw)
	}
	noCanon := 0
	for _, raw := range raws {
		o, canon, err := ParseCanonical(raw)
		want, werr := Parse(raw)
		if (err == nil) != (werr == nil) || (err != nil && err.Error() != werr.Error()) {
			t.Fatalf("%.80s: error %v, Parse %v", raw, err, werr)
		}
		if err != nil {
			continue
		}
		if o.ID != want.ID || !bytes.Equal(o.Raw, want.Raw) || o.Modified != want.Modified {
			t.Fatalf("%.80s: object differs from Parse's", raw)
		}
		wc, cerr := Canonical(raw)
		if cerr != nil {
			wc = nil
		}
		if !bytes.Equal(canon, wc) {
			t.Fatalf("%.80s:\ncanonical %s\nwant      %s (%v)", raw, canon, wc, cerr)
		}
		if canon == nil {
			noCanon++
		}
	}
	if noCanon != 1 {
		t.Errorf("%d valid objects without a canonical form, want 1 (x_big)", noCanon)
	}
}

func TestSameMeaning(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{`{"a":1,"b":[true,"x"]}`, `{"b":[true,"x"],"a":1}`, true},
		{`{"a":1.0,"s":"\u0041"}`, `{"s":"A","a":1}`, true},
		{`{"a":1}`, `{"a":2}`, false},
		{`{"b":[1,2]}`, `{"b":[2,1]}`, false},
		{`{"a":1,"a":1}`, `{"a":1,"a":1}`, true}, // not I-JSON: its own bytes only
		{`{"a":1,"a":1}`, `{"a":1}`, false},
		{`{"a":`, `{"a":`, true},
		{`{"n":100,"m":0.25}`, `{"m":25e-2,"n":1E2}`, true},
		{`{"n":-0}`, `{"n":0}`, true},
		// Numbers that a double does not hold: their bytes alone decide.
		{`{"n":9007199254740993,"a":1}`, `{"a":1,"n":9007199254740992}`, false},
		{`{"n":0.10000000000000000001,"a":1}`, `{"a":1,"n":0.1}`, false},
		{`{"n":1e400,"a":1}`, `{"a":1,"n":1e400}`, false},
	}
	for _, tt := range tests {
		if got := SameMeaning([]byte(tt.a), []byte(tt.b)); got != tt.want {
			t.Errorf("SameMeaning(%s, %s) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

// FuzzSameMeaning checks that SameMeaning is reflexive and symmetric, and that two
// values it calls the same decode (encoding/json) to equal values.
func FuzzSameMeaning(f *testing.F) {
	f.Add([]byte(`{"a":1,"b":[true,"x"]}`), []byte(`{"b":[true,"x"],"a":1.0}`))
	f.Add([]byte(`{"n":9007199254740993}`), []byte(`{"n":9007199254740992}`))
	f.Add([]byte(`{"n":1e-2}`), []byte(`{"n":0.010}`))
	f.Fuzz(func(t *testing.T, a, b []byte) {
		if !SameMeaning(a, a) || SameMeaning(a, b) != SameMeaning(b, a) {
			t.Fatalf("%q, %q: not reflexive or not symmetric", a, b)
		}
		if bytes.Equal(a, b) || !SameMeaning(a, b) {
			return
		}
		var va, vb any
		if err := json.Unmarshal(a, &va); err != nil {
			t.Fatalf("%q: the same meaning as %q, but: %v", a, b, err)
		}
		if err := json.Unmarshal(b, &vb); err != nil {
			t.Fatalf("%q: the same meaning as %q, but: %v", b, a, err)
		}
		if !reflect.DeepEqual(va, vb) {
			t.Fatalf("%q and %q: the same meaning, but decode to %v and %v", a, b, va, vb)
		}
	})
}
