package provenance

import (
	"bytes"
	"testing"
)

// The spliced message of Sign is byte for byte the one decoding and writing the
// object again gives, whatever members and extensions the object has; and Read
// and Verify find the same extension as decoding does.
func TestFastPathsAgree(t *testing.T) {
	s := newSigner(t, "JP")
	w := wire{ExtensionType: "property-extension", Node: s.Nation, Agency: s.Agency, KeyID: s.keyID}
	for _, raw := range []string{
		indicator,
		`{"type":"x-a","id":"x-a--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","name":"no extensions"}`,
		`{"type":"x-a","extensions":{},"a":[1,{"b":"}"}],"z":"\"q\""}`,
		`{"type":"x-a","extensions":{"extension-definition--ffffffff-2222-4333-8444-555555555555":{"x":1}}}`,
		`{"type":"x-a","extensions":{"extension-definition--00000000-2222-4333-8444-555555555555":{"x":1},"zz-ext":{"y":[]}}}`,
		`{"b":1,"a":2,"éclair":3,"extensions":{"é":{}}}`,
		`{"extensions":"not an object"}`,
		`{"a":true,"b":null,"c":-1.5e3,"d":{"e":{"f":[[],{}]}}}`,
		`{}`,
	} {
		fast, ferr := s.message([]byte(raw), w)
		top, exts, derr := decode([]byte(raw))
		var slow []byte
		if derr == nil {
			slow, derr = message(top, exts, w)
		}
		if (ferr == nil) != (derr == nil) || !bytes.Equal(fast, slow) {
			t.Errorf("%s:\nfast %s (%v)\nslow %s (%v)", raw, fast, ferr, slow, derr)
			continue
		}
		if ferr != nil {
			continue
		}
		signed, err := s.Sign([]byte(raw))
		if err != nil {
			t.Fatal(err)
		}
		got, err := Read(signed)
		_, exts2, _, _ := split(signed)
		_, want, werr := extension(exts2)
		if err != nil || werr != nil || got.Node != want.Node || !bytes.Equal(got.Signature, want.Signature) {
			t.Errorf("%s: Read %+v %v, decoded %+v %v", raw, got, err, want, werr)
		}
		if _, err := Verify(signed, keysOf(s)); err != nil {
			t.Errorf("%s: %v", raw, err)
		}
	}
}

func TestInsertSorted(t *testing.T) {
	for _, c := range []struct{ obj, name, want string }{
		{`{}`, "m", `{"m":0}`},
		{`{"a":1}`, "m", `{"a":1,"m":0}`},
		{`{"z":1}`, "m", `{"m":0,"z":1}`},
		{`{"a":1,"z":{"m":2}}`, "m", `{"a":1,"m":0,"z":{"m":2}}`},
	} {
		got, ok := insertSorted([]byte(c.obj), c.name, []byte("0"))
		if !ok || string(got) != c.want {
			t.Errorf("%s + %s: %s %v, want %s", c.obj, c.name, got, ok, c.want)
		}
	}
	for _, bad := range []string{`{"m":1}`, `{"a":1 }`, `[1]`, `{"a":}`, `{"a":"x`} {
		if got, ok := insertSorted([]byte(bad), "m", []byte("0")); ok {
			t.Errorf("%s: accepted: %s", bad, got)
		}
	}
}

func TestReplaceOnce(t *testing.T) {
	old, repl := []byte("<ab-KEY-cd>"), []byte("[]")
	const keyAt, keyLen = 4, 3
	for _, c := range []struct {
		in, want string
		ok       bool
	}{
		{"x<ab-KEY-cd>y", "x[]y", true},
		{"<ab-KEY-cd>", "[]", true},
		{"x<ab-KEY-cd>y<ab-KEY-cd>", "", false},   // twice
		{"KEY x<ab-KEY-cd>y", "KEY x[]y", true},   // the key elsewhere too: counted
		{"xKEY-cd>y", "", false},                  // the key, not old
		{"<ab-KEY-cd", "", false},                 // cut short
		{"nothing here", "", false},               // neither
		{"<ab-KEY-cd><ab-KEY-cd>KEY", "", false},  // twice, key thrice
		{"<ab-KEY-cd>KEY-cd>", "[]KEY-cd>", true}, // once, key twice
	} {
		got, ok := replaceOnce([]byte(c.in), old, repl, keyAt, keyLen)
		if ok != c.ok || string(got) != c.want {
			t.Errorf("%q: got %q %t, want %q %t", c.in, got, ok, c.want, c.ok)
		}
		// the same answer as counting
		n := bytes.Count([]byte(c.in), old)
		if ok != (n == 1) || (ok && !bytes.Equal(got, bytes.Replace([]byte(c.in), old, repl, 1))) {
			t.Errorf("%q: disagrees with bytes.Count %d", c.in, n)
		}
	}
}
