package stix

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"quadshare/internal/realdata"
)

// The OASIS STIX 2.1 JSON Schemas are a cross-check of our validator, not its
// source: the specification's text is. This test loads them, validates every
// object of the OASIS examples and of ATT&CK for ICS with both, and requires the
// two to agree object by object, apart from the known differences listed below.
//
// Custom object types (ATT&CK's x-mitre-*) have no schema; they are checked
// against core.json, the common properties every SDO-like object must have
// (§11.2.1), which is also what our validator applies to them.

const schemaBase = "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/"

// knownDifferences maps an object id to why the schemas and our validator
// disagree about it; each entry must be looked at by hand. It is empty: on the
// real data both agree on every object. Two decisions of ours keep it so, both
// taken from the specification, not to please the schemas: UUIDs are accepted in
// either case (RFC 4122 §3: case-insensitive on input; infrastructure.json has
// one in upper case), and custom properties ending in _ref are not required to hold
// identifiers (§3.1 names reference properties, it does not require every such name
// to be one; ATT&CK's x_mitre_data_source_ref is sometimes ""). Where the schemas
// are looser or stricter than the text on objects made for the purpose, see
// brokenObjects (field why) and schemaStricter in validate_test.go.
var knownDifferences = map[string]string{}

type schemaSet struct {
	byType map[string]*jsonschema.Schema
	core   *jsonschema.Schema
}

func loadSchemas(t testing.TB) *schemaSet {
	t.Helper()
	dir := realdata.Path(t, "stix/schemas")
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	files, err := filepath.Glob(filepath.Join(dir, "*", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no schemas in %s: %v", dir, err)
	}
	urls := map[string]string{} // type -> schema URL
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(fh)
		fh.Close()
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		rel := filepath.ToSlash(strings.TrimPrefix(f, dir+string(filepath.Separator)))
		url := schemaBase + rel
		if id, ok := doc.(map[string]any)["$id"].(string); ok && id != url {
			t.Fatalf("%s: $id %s, want %s", f, id, url)
		}
		if err := c.AddResource(url, doc); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		dirName, name := filepath.Split(rel)
		typ := strings.TrimSuffix(name, ".json")
		switch dirName {
		case "sdos/", "sros/", "observables/":
			urls[typ] = url
		case "common/":
			switch typ {
			case "marking-definition", "language-content", "extension-definition", "bundle":
				urls[typ] = url
			}
		}
	}
	s := &schemaSet{byType: map[string]*jsonschema.Schema{}}
	for typ, url := range urls {
		sch, err := c.Compile(url)
		if err != nil {
			t.Fatalf("compile %s: %v", url, err)
		}
		s.byType[typ] = sch
	}
	if s.core, err = c.Compile(schemaBase + "common/core.json"); err != nil {
		t.Fatalf("compile core.json: %v", err)
	}
	return s
}

// validate returns the schemas' verdict on one object.
func (s *schemaSet) validate(raw []byte) error {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	typ, _ := inst.(map[string]any)["type"].(string)
	sch := s.byType[typ]
	if sch == nil {
		sch = s.core
	}
	return sch.Validate(inst)
}

func TestSchemasAgreeOnRealData(t *testing.T) {
	s := loadSchemas(t)
	files, err := filepath.Glob(filepath.Join(realdata.Path(t, "stix/oasis-examples"), "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no examples: %v", err)
	}
	files = append(files, realdata.Path(t, "stix/ics-attack-18.1.json"))
	total, valid := 0, 0
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		r := NewReader(fh)
		for {
			raw, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", filepath.Base(f), err)
			}
			total++
			_, ours := Parse(raw)
			theirs := s.validate(raw)
			o, _ := Decode(raw)
			where := filepath.Base(f) + ":" + itoa(r.Line())
			if (ours == nil) != (theirs == nil) {
				if why, ok := knownDifferences[o.ID]; ok {
					t.Logf("%s: %s: known difference: %s", where, o.ID, why)
					continue
				}
				t.Errorf("%s: %s: ours: %v\nschemas: %v", where, o.ID, ours, theirs)
				continue
			}
			if ours == nil {
				valid++
			}
		}
		fh.Close()
	}
	if total < 1826+250 {
		t.Errorf("only %d objects read", total)
	}
	if valid != total {
		t.Errorf("%d of %d published objects are invalid for both", total-valid, total)
	}
	t.Logf("%d objects, %d valid for both", total, valid)
}

func TestSchemasRejectBrokenObjects(t *testing.T) {
	s := loadSchemas(t)
	both := 0
	for _, b := range brokenObjects(t) {
		_, ours := Parse([]byte(b.raw))
		if ours == nil {
			t.Errorf("%s: our validator accepts it", b.name)
		}
		theirs := s.validate([]byte(b.raw))
		switch {
		case b.schema && theirs == nil:
			t.Errorf("%s: the schemas accept it", b.name)
		case !b.schema && theirs != nil:
			t.Errorf("%s: listed as accepted by the schemas (%s), but they reject it: %v", b.name, b.why, theirs)
		case b.schema:
			both++
		}
	}
	if both < 15 {
		t.Errorf("only %d broken objects rejected by both", both)
	}
}

func TestSchemasOnValidObjects(t *testing.T) {
	s := loadSchemas(t)
	for _, raw := range validObjects {
		if err := s.validate([]byte(raw)); err != nil {
			t.Errorf("the schemas reject a valid object: %v\n%s", err, raw)
		}
	}
	for _, d := range schemaStricter {
		if _, err := Parse([]byte(d.raw)); err != nil {
			t.Errorf("%s: %v", d.name, err)
		}
		if err := s.validate([]byte(d.raw)); err == nil {
			t.Errorf("%s: listed as rejected by the schemas (%s), but they accept it", d.name, d.why)
		}
	}
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}
