package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"quadshare/internal/realdata"
	"quadshare/internal/stix"
	"quadshare/internal/stix/stixgen"
)

// sameAsOracle checks Extract against the encoding/json extractor it replaced:
// the same Facts when both accept, both refuse otherwise, except that Extract
// alone refuses what the store's strict parser refuses (invalid UTF-8, lone
// surrogates, a duplicate name below the members the oracle checked, nesting
// beyond stix.MaxDepth), which no stored object holds. It returns whether Extract
// accepted raw.
func sameAsOracle(t testing.TB, s *Scales, raw []byte) bool {
	t.Helper()
	got, err := s.Extract(raw)
	want, oerr := oldExtract(s, raw)
	switch {
	case err == nil && oerr == nil:
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("Extract(%.300q) =\n%+v\nthe oracle:\n%+v", raw, got, want)
		}
	case err == nil:
		t.Fatalf("Extract(%.300q) accepted what the oracle refuses (%v): %+v", raw, oerr, got)
	case !errors.Is(err, ErrFacts):
		t.Fatalf("Extract(%.300q): %v does not wrap ErrFacts", raw, err)
	case oerr == nil && !errors.Is(err, stix.ErrJSON):
		t.Fatalf("Extract(%.300q) refused what the oracle accepts (%+v): %v", raw, want, err)
	}
	return err == nil
}

// TestExtractMatchesOracle compares the two extractors over real bundles,
// generated objects, the random policy cases of the oracle tests, and variants
// of each that put other types, nulls and duplicates where the facts are read.
func TestExtractMatchesOracle(t *testing.T) {
	e := loadTestEngine(t)
	s := e.Scales()
	bundles, objects := realObjects(t)
	objects = append(bundles, objects...) // a bundle is an object too
	real := len(objects)
	g := stixgen.New(7)
	for range 5000 {
		objects = append(objects, g.Next())
	}
	rng := rand.New(rand.NewPCG(5, 6))
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	for range 2000 {
		c := oRandomCase(rng, now)
		objects = append(objects, c.json(t))
	}
	accepted := 0
	for _, raw := range objects {
		if sameAsOracle(t, s, raw) {
			accepted++
		}
	}
	// Every object above is valid STIX: all must be read.
	if accepted != len(objects) || real < 1800 {
		t.Fatalf("%d of %d objects read (%d real)", accepted, len(objects), real)
	}
	variants := 0
	for i, raw := range objects {
		if i%7 != 0 { // a sample keeps the test quick
			continue
		}
		for _, v := range mutations(raw, rng) {
			sameAsOracle(t, s, v)
			variants++
		}
	}
	t.Logf("%d objects (%d real), %d variants", len(objects), real, variants)
}

// realObjects reads the ATT&CK ICS bundle and the OASIS examples: the bundles
// and the objects in them.
func realObjects(t testing.TB) (bundles, objects [][]byte) {
	t.Helper()
	for _, rel := range []string{"stix/ics-attack-18.1.json", "stix/oasis-examples"} {
		path := realdata.Path(t, rel)
		files := []string{path}
		if fi, err := os.Stat(path); err == nil && fi.IsDir() {
			files, _ = filepath.Glob(filepath.Join(path, "*.json"))
		}
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			bundles = append(bundles, data)
			var bundle struct {
				Objects []json.RawMessage `json:"objects"`
			}
			if err := json.Unmarshal(data, &bundle); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			for _, o := range bundle.Objects {
				objects = append(objects, o)
			}
		}
	}
	return bundles, objects
}

// mutations returns variants of raw that change the values the extractor reads:
// another type, null, a null element, a duplicate member, escapes.
func mutations(raw []byte, rng *rand.Rand) [][]byte {
	names := []string{"id", "type", "created", "modified", "created_by_ref", "object_marking_refs",
		"sectors", "granular_markings", "extensions", "marking_ref", "selectors", "lang",
		SharingExtension, "recipients", "reporter", "ref", "consent"}
	values := []string{`null`, `1`, `true`, `"x"`, `[]`, `{}`, `[null]`, `["a",1]`, `[{}]`, `"\u0041"`,
		`["AU:a","JP:"]`, `"2026-01-01T00:00:00Z"`, `"identity--1"`, `{"a":{"a":1}}`}
	var out [][]byte
	for _, name := range names {
		key := []byte(`"` + name + `":`)
		at := bytes.Index(raw, key)
		if at < 0 {
			continue
		}
		start := at + len(key)
		end := valueEnd(raw, start)
		if end < 0 {
			continue
		}
		v := values[rng.IntN(len(values))]
		out = append(out,
			join(raw[:start], []byte(v), raw[end:]),                                 // another value
			join(raw[:at], []byte(`"`+name+`":`+v+`,`), raw[at:]),                   // a duplicate before it
			join(raw[:at], []byte(`"\u00`+hex2(name[0])+name[1:]+`":1,`), raw[at:]), // an escaped duplicate
		)
		if end-start > 2 && raw[start] == '[' {
			out = append(out, join(raw[:start+1], []byte(`null,`), raw[start+1:]))
		}
	}
	return out
}

func hex2(c byte) string { return string("0123456789abcdef"[c>>4]) + string("0123456789abcdef"[c&15]) }

func join(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// valueEnd returns the end of the JSON value starting at raw[start], or -1.
func valueEnd(raw []byte, start int) int {
	d := json.NewDecoder(bytes.NewReader(raw[start:]))
	var v json.RawMessage
	if err := d.Decode(&v); err != nil {
		return -1
	}
	return start + int(d.InputOffset())
}

// FuzzExtractOracle compares the two extractors on any input.
func FuzzExtractOracle(f *testing.F) {
	f.Add(obj(marks(tlp2Green, classAU3)))
	f.Add(obj(`"granular_markings":[{"marking_ref":"` + tlp2Red + `","selectors":["labels.[1]","description"]},{"lang":"en","selectors":["name"]}],` +
		sharing(`"sectors":["energy",null],"recipients":["AU:a"],"reporter":{"ref":"identity--x","consent":"partners"}`)))
	f.Add(obj(`"extensions":{"x":null},"sectors":["water"],"created_by_ref":null`))
	f.Add([]byte(`{"type":"x","id":"x--1","modified":"2026-01-01T00:00:00.1Z"}`))
	f.Add([]byte(`{"type":"x","id":"x--1","a":"\u00e9\ud83d\ude00","b":{"c":[1,2.5e3,-0]}}`))
	g := stixgen.New(1)
	for range 20 {
		f.Add(g.Next())
	}
	s := loadTestEngine(f).Scales()
	f.Fuzz(func(t *testing.T, raw []byte) {
		if len(raw) > 1<<16 || strings.Count(string(raw), "[")+strings.Count(string(raw), "{") > 2000 {
			return // the oracle's encoding/json is slow on deep nesting; depth is tested above
		}
		sameAsOracle(t, s, raw)
	})
}
