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
