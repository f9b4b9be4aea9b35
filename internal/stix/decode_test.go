package stix

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
)

const indicatorJSON = `{
  "type": "indicator",
  "spec_version": "2.1",
  "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
  "created": "2016-04-29T14:09:00.000Z",
  "modified": "2016-04-29T14:09:00.123456Z",
  "name": "Poison Ivy Malware",
  "description": "caf\u00e9 \"quoted\"",
  "pattern": "[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']",
  "pattern_type": "stix",
  "valid_from": "2016-01-01T00:00:00Z",
  "x_acme_score": [1, 2.50, -0],
  "x_acme_nested": {"z": null, "a": true}
}`

func TestDecodeFillsAndKeepsEverything(t *testing.T) {
	o, err := Decode([]byte(indicatorJSON))
	if err != nil {
		t.Fatal(err)
	}
	if o.ID != "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f" || o.Type != "indicator" || o.SpecVersion != "2.1" {
		t.Errorf("common properties: %+v", o)
	}
	if o.Created.String() != "2016-04-29T14:09:00.000Z" || o.Modified.String() != "2016-04-29T14:09:00.123456Z" {
		t.Errorf("created %s modified %s", o.Created, o.Modified)
	}
	if o.Version() != o.Modified {
		t.Errorf("Version = %s", o.Version())
	}
	if o.Name != "Poison Ivy Malware" || o.Description != `café "quoted"` {
		t.Errorf("name %q description %q", o.Name, o.Description)
	}
	// Raw is the input without whitespace between tokens: same members, same order,
	// same escapes and number literals as written.
	var want bytes.Buffer
	inString := false
	for i := 0; i < len(indicatorJSON); i++ {
		c := indicatorJSON[i]
		if c == '"' && (i == 0 || indicatorJSON[i-1] != '\\') {
			inString = !inString
		}
		if !inString && (c == ' ' || c == '\n') {
			continue
		}
		want.WriteByte(c)
	}
	if string(o.Raw) != want.String() {
		t.Errorf("Raw:\n got %s\nwant %s", o.Raw, want.String())
	}
	// Decoding Raw again is stable.
	o2, err := Decode(o.Raw)
	if err != nil || !bytes.Equal(o2.Raw, o.Raw) || o2.ID != o.ID {
		t.Errorf("second decode: %v, %s", err, o2.Raw)
	}
}

func TestDecodeNameFromValue(t *testing.T) {
	o, err := Decode([]byte(`{"type":"domain-name","id":"domain-name--bedb4899-d24b-5401-bc86-8f6b4cc18ec7","value":"example.com"}`))
	if err != nil {
		t.Fatal(err)
	}
	if o.Name != "example.com" || !o.Created.IsZero() || o.SpecVersion != "2.1" { // the default for SCOs (§3.2)
		t.Errorf("%+v", o)
	}
	o, err = Decode([]byte(`{"type":"malware","id":"malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b","revoked":true,"name":"x"}`))
	if err != nil || !o.Revoked {
		t.Errorf("revoked: %v %+v", err, o)
	}
}

func TestDecodeRejects(t *testing.T) {
	const obj = `"type":"identity","id":"identity--311b2d2d-f010-4473-83ec-1edf84858f4c"`
	deep := `{` + obj + `,"x_deep":` + strings.Repeat(`[`, MaxDepth) + strings.Repeat(`]`, MaxDepth) + `}`
	okDeep := `{` + obj + `,"x_deep":` + strings.Repeat(`[`, MaxDepth-1) + strings.Repeat(`]`, MaxDepth-1) + `}`
	big := `{` + obj + `,"x_big":"` + strings.Repeat("a", MaxObjectSize) + `"}`
	tests := []struct {
		name, in string
		want     error
	}{
		{"array", `[{` + obj + `}]`, ErrJSON},
		{"string", `"identity"`, ErrJSON},
		{"number", `1`, ErrJSON},
		{"empty", ``, ErrJSON},
		{"whitespace", " \n", ErrJSON},
		{"duplicate top-level name", `{` + obj + `,"name":"a","name":"b"}`, ErrJSON},
		{"duplicate nested name", `{` + obj + `,"x_n":{"a":1,"b":2,"a":3}}`, ErrJSON},
		{"invalid UTF-8", "{" + obj + ",\"name\":\"\xc3\x28\"}", ErrJSON},
		{"invalid UTF-8 in a name", "{" + obj + ",\"n\xffme\":\"a\"}", ErrJSON},
		{"lone surrogate", `{` + obj + `,"name":"\udc00"}`, ErrJSON},
		{"control character", "{" + obj + ",\"name\":\"a\tb\"}", ErrJSON},
		{"too deep", deep, ErrJSON},
		{"too big", big, ErrJSON},
		{"trailing data", `{` + obj + `} {}`, ErrJSON},
		{"trailing comma", `{` + obj + `,}`, ErrJSON},
		{"single quotes", `{'type':'identity'}`, ErrJSON},
		{"bad number", `{` + obj + `,"confidence":01}`, ErrJSON},
		{"bad literal", `{` + obj + `,"revoked":True}`, ErrJSON},
		{"unterminated", `{` + obj, ErrJSON},
		{"no type", `{"id":"identity--311b2d2d-f010-4473-83ec-1edf84858f4c"}`, ErrDecode},
		{"no id", `{"type":"identity"}`, ErrDecode},
		{"id not a string", `{"type":"identity","id":7}`, ErrDecode},
		{"type empty", `{"type":"","id":"identity--311b2d2d-f010-4473-83ec-1edf84858f4c"}`, ErrDecode},
		{"created not a timestamp", `{` + obj + `,"created":"2016-04-29 14:09:00Z"}`, ErrTimestamp},
		{"modified not a string", `{` + obj + `,"modified":1461938940}`, ErrDecode},
	}
	for _, tt := range tests {
		_, err := Decode([]byte(tt.in))
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
		}
	}
	if _, err := Decode([]byte(okDeep)); err != nil {
		t.Errorf("depth %d must be accepted: %v", MaxDepth, err)
	}
}

// The decoder's strings alias its input while it works; nothing it returns may.
func TestResultsDoNotAliasInput(t *testing.T) {
	in := []byte(indicatorJSON)
	o, err := Parse(in)
	if err != nil {
		t.Fatal(err)
	}
	bad := []byte(strings.Replace(indicatorJSON, `"2016-01-01T00:00:00Z"`, `"2016-01-01T00:00:00"`, 1))
	_, perr := Parse(bad)
	if perr == nil {
		t.Fatal("bad valid_from accepted")
	}
	_, derr := Decode([]byte(strings.Replace(indicatorJSON, `"2016-04-29T14:09:00.000Z"`, `"2016-04-29T14:09:00.000"`, 1)))
	want := []string{o.ID, o.Type, o.SpecVersion, o.Name, o.Description, string(o.Raw), perr.Error(), derr.Error()}
	for _, b := range [][]byte{in, bad} {
		for i := range b {
			b[i] = 'X'
		}
	}
	got := []string{o.ID, o.Type, o.SpecVersion, o.Name, o.Description, string(o.Raw), perr.Error(), derr.Error()}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("result %d changed with the input: %q", i, got[i])
		}
	}
	var errs Errors
	if errors.As(perr, &errs) && strings.Contains(errs[0].ObjectID+errs[0].Path, "X") {
		t.Errorf("error fields alias the input: %+v", errs[0])
	}
}

// Duplicate names are found in small and in large objects alike, and a large object
// costs linear time: a quadratic check would take minutes on this one.
func TestDecodeDuplicateNamesManyMembers(t *testing.T) {
	const n = 200_000
	build := func(dup bool) []byte {
		var b strings.Builder
		b.WriteString(`{"type":"x-many","id":"x-many--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"`)
		for i := range n {
			fmt.Fprintf(&b, `,"x_%d":0`, i)
		}
		if dup {
			b.WriteString(`,"x_17":1`)
		}
		b.WriteString("}")
		return []byte(b.String())
	}
	if _, err := Decode(build(false)); err != nil {
		t.Fatalf("distinct names: %v", err)
	}
	if _, err := Decode(build(true)); err == nil || !strings.Contains(err.Error(), `duplicate member name "x_17"`) {
		t.Fatalf("duplicate among many: %v", err)
	}
	if _, err := Decode([]byte(`{"type":"x-a","id":"x-a--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","b":1,"b":2}`)); err == nil {
		t.Fatal("duplicate among few not found")
	}
}
