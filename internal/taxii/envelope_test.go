package taxii

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"quadshare/internal/realdata"
	"quadshare/internal/stix/stixgen"
)

func TestSplitEnvelope(t *testing.T) {
	tests := []struct {
		body string
		n    int // objects; -1: an error
	}{
		{`{"objects":[{"a":1},{"b":[1,2]}]}`, 2},
		{` { "more" : false, "objects" : [ {"a":"]"} ] , "x_custom": {"objects": 5} } `, 1},
		{`{"objects":[1,"two",null]}`, 3}, // values that are not objects fail one by one later
		{`{"objects":[]}`, -1},
		{`{}`, -1},
		{`{"objects":{}}`, -1},
		{`{"objects":[{}],"objects":[{}]}`, -1},
		{`{"type":"bundle","objects":[{}]}`, -1},
		{`[{"objects":[]}]`, -1},
		{`{"objects":[{}]} {}`, -1},
		{`{"objects":[{}`, -1},
		{`{"objects":[{}]`, -1},
		{``, -1},
	}
	for _, tt := range tests {
		raws, err := SplitEnvelope([]byte(tt.body), 10)
		if tt.n < 0 {
			if err == nil {
				t.Errorf("%q: no error", tt.body)
			}
			continue
		}
		if err != nil || len(raws) != tt.n {
			t.Errorf("%q: %d objects, %v; want %d", tt.body, len(raws), err, tt.n)
		}
	}
	if _, err := SplitEnvelope([]byte(`{"objects":[1,2,3]}`), 2); err == nil {
		t.Error("more objects than the maximum accepted")
	}
}

func TestReadPage(t *testing.T) {
	tests := []struct {
		body string
		want Page // Objects compared by count
		n    int  // objects; -1: an error
	}{
		{`{}`, Page{}, 0},
		{`{"objects":[]}`, Page{}, 0},
		{`{"more":true,"next":"a\u002fb","objects":[{"a":1},{"b":[1,2]}]}`, Page{More: true, Next: "a/b"}, 2},
		{` { "objects" : [ {} ] , "more" : false, "next": null, "x_custom": {"more": true} } `, Page{}, 1},
		{`{"more":true,"more":false}`, Page{}, 0}, // the last wins, as with encoding/json
		{`{"more":1}`, Page{}, -1},
		{`{"more":"true"}`, Page{}, -1},
		{`{"next":17}`, Page{}, -1},
		{`{"next":["x"]}`, Page{}, -1},
		{`{"next":"x"`, Page{}, -1},
		{`{"type":"bundle","objects":[{}]}`, Page{}, -1},
		{`{"objects":[1,2,3,4]}`, Page{}, -1}, // beyond the maximum
		{`{"objects":[{}]} x`, Page{}, -1},
		{`{"objects":null,"more":false}`, Page{}, 0}, // an empty list as a careless server writes it
		{`{"objects":nul}`, Page{}, -1},
		{`{"objects":null,"objects":[{}]}`, Page{}, -1},
		// encoding/json would have matched these names; skipped, their objects would be lost.
		{`{"Objects":[{}]}`, Page{}, -1},
		{`{"MORE":true}`, Page{}, -1},
		{`{"nExt":"x"}`, Page{}, -1},
	}
	for _, tt := range tests {
		p, err := ReadPage([]byte(tt.body), 3)
		if tt.n < 0 {
			if err == nil {
				t.Errorf("%q: no error", tt.body)
			}
			continue
		}
		if err != nil || len(p.Objects) != tt.n || p.More != tt.want.More || p.Next != tt.want.Next {
			t.Errorf("%q: %+v, %v; want %+v with %d objects", tt.body, p, err, tt.want, tt.n)
		}
	}
}

// FuzzReadPage checks ReadPage against encoding/json: a page it accepts is a JSON
// object whose more and next members decode to what it read, and its objects are
// JSON values.
func FuzzReadPage(f *testing.F) {
	f.Add([]byte(`{"more":true,"next":"abc","objects":[{"type":"tool"}]}`))
	f.Add([]byte(`{"next":"\ud800","more":null}`))
	f.Add([]byte(`{"more":false,"objects":[1,[2],{"3":4}],"next":"x"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := ReadPage(body, 100)
		if err != nil {
			return
		}
		var members map[string]json.RawMessage
		if err := json.Unmarshal(body, &members); err != nil {
			t.Fatalf("%q accepted, but encoding/json: %v", body, err)
		}
		var more bool
		var next string
		if v, ok := members["more"]; ok {
			if err := json.Unmarshal(v, &more); err != nil {
				t.Fatalf("%q: more %s accepted: %v", body, v, err)
			}
		}
		if v, ok := members["next"]; ok {
			if err := json.Unmarshal(v, &next); err != nil {
				t.Fatalf("%q: next %s accepted: %v", body, v, err)
			}
		}
		if p.More != more || p.Next != next {
			t.Fatalf("%q: more %v next %q; encoding/json: %v %q", body, p.More, p.Next, more, next)
		}
		if len(p.Objects) > 100 {
			t.Fatalf("%d objects", len(p.Objects))
		}
		for _, o := range p.Objects {
			if !json.Valid(o) {
				t.Fatalf("object %q is not valid JSON", o)
			}
		}
	})
}

// splitEnvelopeDecoder is the splitter that SplitEnvelope replaced, on
// encoding/json's Decoder: the oracle of what SplitEnvelope must accept and reject,
// with which message, and of the bytes of each value.
func splitEnvelopeDecoder(body []byte, max int) ([][]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, errEnvelope("the body is not a TAXII envelope: a JSON object with an objects list")
	}
	var raws [][]byte
	seen := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, errEnvelope("the body is not valid JSON")
		}
		key, _ := tok.(string)
		if key == "type" {
			return nil, errEnvelope("the body is a STIX bundle; TAXII 2.1 takes an envelope: {\"objects\":[...]} (§3.7)")
		}
		if key != "objects" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, errEnvelope("the body is not valid JSON")
			}
			continue
		}
		if seen {
			return nil, errEnvelope("the envelope has more than one objects member")
		}
		seen = true
		tok, err = dec.Token()
		if err != nil || tok != json.Delim('[') {
			return nil, errEnvelope("objects must be a list")
		}
		for dec.More() {
			if len(raws) == max {
				return nil, errEnvelope(fmt.Sprintf("the envelope holds more than %d objects; split it", max))
			}
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return nil, errEnvelope("the body is not valid JSON")
			}
			raws = append(raws, raw)
		}
		if _, err := dec.Token(); err != nil {
			return nil, errEnvelope("the body is not valid JSON")
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, errEnvelope("the body is not valid JSON")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errEnvelope("the body has data after the envelope")
	}
	if len(raws) == 0 {
		return nil, errEnvelope("the envelope holds no objects")
	}
	return raws, nil
}

// sameSplit reports how SplitEnvelope differs from the Decoder's splitter on body,
// or "".
func sameSplit(body []byte, max int) string {
	got, gerr := SplitEnvelope(body, max)
	want, werr := splitEnvelopeDecoder(body, max)
	if fmt.Sprint(gerr) != fmt.Sprint(werr) {
		return fmt.Sprintf("error %v; the Decoder's %v", gerr, werr)
	}
	if len(got) != len(want) {
		return fmt.Sprintf("%d values; the Decoder's %d", len(got), len(want))
	}
	for i := range got {
		if !bytes.Equal(got[i], want[i]) {
			return fmt.Sprintf("value %d is %.100q; the Decoder's %.100q", i, got[i], want[i])
		}
	}
	return ""
}

func checkSame(t *testing.T, name string, body []byte, max int) {
	t.Helper()
	if d := sameSplit(body, max); d != "" {
		t.Errorf("%s (%.200q, max %d): %s", name, body, max, d)
	}
}

// malformedEnvelopes are envelopes broken, or oddly formed, in the ways a splitter
// can get wrong.
var malformedEnvelopes = []string{
	// what TestSplitEnvelope takes
	`{"objects":[{"a":1},{"b":[1,2]}]}`,
	` { "more" : false, "objects" : [ {"a":"]"} ] , "x_custom": {"objects": 5} } `,
	`{"objects":[1,"two",null]}`, `{"objects":[]}`, `{}`, `{"objects":{}}`,
	`{"objects":[{}],"objects":[{}]}`, `{"type":"bundle","objects":[{}]}`, `[{"objects":[]}]`,
	`{"objects":[{}]} {}`, `{"objects":[{}`, `{"objects":[{}]`, ``,
	// not an envelope at all
	` `, `null`, `[]`, `"objects"`, `1`, `}`, "\xef\xbb\xbf{\"objects\":[{}]}", `{{}}`,
	// the type member, before, after and instead of objects, and made by escapes
	`{"objects":[{}],"type":"bundle"}`, `{"type"`, `{"type":`, `{"type"x`, `{"type" 5}`,
	`{"\u0074ype":"bundle","objects":[{}]}`, `{"typ\u0065":1}`, `{"Type":"bundle","objects":[{}]}`,
	`{"objects":[{}` + strings.Repeat(`,{}`, 20) + `],"type":"bundle"}`,
	// objects: duplicated, escaped, not a list, its colon
	`{"objects":[{}],"\u006fbjects":[{}]}`, `{"objects":[{}],"objects":5}`, `{"objects":[{}],"objects"`,
	`{"objects":5,"objects":[{}]}`, `{"objects" [{}]}`, `{"objects"::[{}]}`, `{"objects":"[{}]"}`,
	`{"objects":null}`, `{"objects"}`, `{"objects"`, `{"objects":`, `{"objects": `, `{"objects":[`,
	`{"objects":[ `, `{"objects":{"a":[]}}`, `{"objects\u0000":[{}]}`, "{\"objects\xff\":[{}]}",
	`{"\ud800objects":[{}]}`,
	// the list and its elements
	`{"objects":[{},]}`, `{"objects":[,{}]}`, `{"objects":[{} {}]}`, `{"objects":[{}}`,
	`{"objects":[{}],}`, `{"objects":[{}]]}`, `{"objects":[{}],"more"}`, `{"objects":[{}],"more":}`,
	`{"objects":[1x]}`, `{"objects":[1 x]}`, `{"objects":[01]}`, `{"objects":[-]}`, `{"objects":[1.]}`,
	`{"objects":[1e5,-0.5E-3,0]}`, `{"objects":[123456789012345678901234567890123456789e999999]}`,
	`{"objects":[tru]}`, `{"objects":[truex]}`, `{"objects":[true,false,null]}`, `{"objects":[nul]}`,
	`{"objects":[[]]}`, `{"objects":[[{}],{"a":[[]]}]}`, `{"objects":["]"]}`, `{"objects":["\"]"]}`,
	`{"objects":[{"a":"\q"}]}`, `{"objects":[{"a":"\u12"}]}`, `{"objects":[{"a":"\u12G4"}]}`,
	`{"objects":[{"a":"\ud800"}]}`, "{\"objects\":[{\"a\":\"\xff\xfe\"}]}",
	"{\"objects\":[{\"a\":\"\x01\"}]}", "{\"objects\":[{\"a\":\"\x7f\"}]}",
	`{"objects":[{"a":1,"a":2}]}`, `{"objects":[{"a"}]}`, `{"objects":[{"a":1,}]}`, `{"objects":[{1:2}]}`,
	`{"objects":[{"a":1]]}`, `{"objects":[[1}]}`,
	// other members: valid or not, any JSON
	`{"more":false,"next":"abc","objects":[{}]}`, `{"more":fals,"objects":[{}]}`,
	`{"x":[1,2,{"objects":[]}],"objects":[{}]}`, `{"x":{"type":"bundle"},"objects":[{}]}`,
	`{"x":"\"","objects":[{}]}`, `{"x":1 "objects":[{}]}`, `{"x":1,,"objects":[{}]}`, `{,"objects":[{}]}`,
	`{"objects":[{}],"x":[1,]}`, `{"x":01,"objects":[{}]}`, `{"x" : 1 , "objects" : [ {} ] }`,
	`{"objects":[{}],"objects":[{}],"type":1}`, `{"x":"\u00zz","objects":[{}]}`, `{1:"objects"}`,
	// whitespace everywhere, and what is not whitespace
	"\t\r\n {\n\t\"objects\"\r:\n[\t{ }\n,\r[ ]\t]\n}\r\n\t ", "{\"objects\":[{}]}\f",
	"{\"objects\":[{}]}\x00", "{\"objects\":[{}]}\u00a0", "{\u00a0\"objects\":[{}]}", "\v{\"objects\":[{}]}",
	// after the envelope
	`{"objects":[{}]}x`, `{"objects":[{}]}}`, `{"objects":[{}]}]`, `{"objects":[{}]}{"objects":[{}]}`,
	`{"objects":[{}]} null`, `{"objects":[]} x`, `{} x`, `{"objects":[{}]}"`,
}

func TestSplitEnvelopeMatchesDecoder(t *testing.T) {
	deep := func(open, closing string, d int) string {
		return strings.Repeat(open, d) + "1" + strings.Repeat(closing, d)
	}
	cases := malformedEnvelopes
	for _, d := range []int{64, 65, 9999, 10000, 10001} {
		cases = append(cases,
			`{"objects":[`+deep("[", "]", d)+`]}`,
			`{"objects":[`+deep(`{"a":`, "}", d)+`]}`,
			`{"x":`+deep("[", "]", d)+`,"objects":[{}]}`,
			`{"objects":[`+strings.Repeat("[", d)+`]}`)
	}
	for _, c := range cases {
		for _, max := range []int{0, 1, 2, 3, 100} {
			checkSame(t, "case", []byte(c), max)
		}
	}
	// Every truncation of small envelopes, so that the input ends at every state.
	for _, c := range []string{
		` { "more" : false, "objects" : [ {"a":"]\"\u00e9"}, 1.5e-3, [true,null], "s" ] , "x_custom": {"objects": 5} } `,
		`{"x":[1,{"y":"z"}],"objects":[{"type":"tool","id":"tool--1","n":-0.5E+2}],"type":"bundle"}`,
	} {
		for n := range len(c) + 1 {
			checkSame(t, "truncated", []byte(c[:n]), 100)
			checkSame(t, "with a byte changed", []byte(c[:n]+"\x00"+c[min(n+1, len(c)):]), 100)
		}
	}
}

// realEnvelopes builds envelopes from the real STIX bundles, as clients would send
// them: indented as in the files, compact, with members besides objects.
func realEnvelopes(tb testing.TB) map[string][]byte {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(filepath.Dir(realdata.Path(tb, "stix/oasis-examples/apt1.json")), "*.json"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("OASIS examples: %v", err)
	}
	files = append(files, realdata.Path(tb, "stix/ics-attack-18.1.json"))
	out := map[string][]byte{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		name := filepath.Base(f)
		out[name+" as it is"] = raw
		var b struct{ Objects []json.RawMessage }
		if err := json.Unmarshal(raw, &b); err != nil {
			tb.Fatal(err)
		}
		if len(b.Objects) == 0 {
			continue // a single object
		}
		// The bundle with its type renamed is an envelope with other members.
		out[name+" retyped"] = bytes.Replace(raw, []byte(`"type": "bundle"`), []byte(`"x_type": "bundle"`), 1)
		// Envelopes of the size that clients send.
		b.Objects = b.Objects[:min(len(b.Objects), 500)]
		objs := make([][]byte, len(b.Objects))
		compact := make([][]byte, len(b.Objects))
		for i, o := range b.Objects {
			objs[i] = o
			var c bytes.Buffer
			if err := json.Compact(&c, o); err != nil {
				tb.Fatal(err)
			}
			compact[i] = c.Bytes()
		}
		out[name+" indented objects"] = envelopeOf(objs...)
		out[name+" compact"] = envelopeOf(compact...)
		var ind bytes.Buffer
		if err := json.Indent(&ind, envelopeOf(compact...), "\t", "  "); err != nil {
			tb.Fatal(err)
		}
		out[name+" indented"] = ind.Bytes()
		out[name+" more"] = append(append([]byte(`{"more":true,"next":"`+name+`",`), envelopeOf(compact...)[1:]...), '\n')
	}
	return out
}

func TestSplitEnvelopeRealData(t *testing.T) {
	envs := realEnvelopes(t)
	for name, body := range envs {
		want, err := splitEnvelopeDecoder(body, 1<<20)
		if strings.HasSuffix(name, "as it is") != (err != nil) {
			t.Errorf("%s: the Decoder's splitter says %v", name, err)
		}
		for _, max := range []int{len(want), len(want) - 1} {
			checkSame(t, name, body, max)
		}
		// Truncated at a hundred places, fewer when large.
		points := min(len(body), 100, max(2, (1<<20)/len(body)))
		for k := range points {
			checkSame(t, name+" truncated", body[:k*len(body)/points], 1<<20)
		}
	}
}

func FuzzSplitEnvelope(f *testing.F) {
	f.Add([]byte(`{"objects":[{"type":"tool","id":"tool--1"}],"more":true}`), uint8(100))
	f.Add([]byte(`{"objects":[1,[2],{"3":4}]}`), uint8(2))
	f.Add([]byte(`{"objects":[`), uint8(100))
	for _, c := range malformedEnvelopes {
		f.Add([]byte(c), uint8(3))
	}
	f.Fuzz(func(t *testing.T, body []byte, max uint8) {
		if d := sameSplit(body, int(max)); d != "" {
			t.Fatalf("%q, max %d: %s", body, max, d)
		}
		raws, err := SplitEnvelope(body, int(max))
		if err != nil {
			return
		}
		for _, r := range raws {
			if !json.Valid(r) {
				t.Fatalf("object %q is not valid JSON", r)
			}
		}
	})
}

// BenchmarkSplitEnvelope splits an envelope of 500 real objects (compact, from
// ATT&CK for ICS) with SplitEnvelope and with the Decoder it replaced.
func BenchmarkSplitEnvelope(b *testing.B) {
	raw, err := os.ReadFile(realdata.Path(b, "stix/ics-attack-18.1.json"))
	if err != nil {
		b.Fatal(err)
	}
	var bundle struct{ Objects []json.RawMessage }
	if err := json.Unmarshal(raw, &bundle); err != nil {
		b.Fatal(err)
	}
	const n = 500
	real := make([][]byte, n)
	for i := range real {
		var c bytes.Buffer
		if err := json.Compact(&c, bundle.Objects[i]); err != nil {
			b.Fatal(err)
		}
		real[i] = c.Bytes()
	}
	gen := stixgen.New(1)
	generated := make([][]byte, n)
	for i := range generated {
		generated[i] = gen.Next()
	}
	for _, env := range []struct {
		name string
		body []byte
	}{{"attack-ics", envelopeOf(real...)}, {"stixgen", envelopeOf(generated...)}} {
		for _, impl := range []struct {
			name  string
			split func([]byte, int) ([][]byte, error)
		}{{"decoder", splitEnvelopeDecoder}, {"new", SplitEnvelope}} {
			b.Run(env.name+"/"+impl.name, func(b *testing.B) {
				b.SetBytes(int64(len(env.body)))
				for b.Loop() {
					if raws, err := impl.split(env.body, 10000); err != nil || len(raws) != n {
						b.Fatalf("%d objects, %v", len(raws), err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/object")
			})
		}
	}
}
