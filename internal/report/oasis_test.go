package report

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"quadshare/internal/realdata"
)

// oasisBase is the $id prefix of the OASIS STIX 2.1 JSON Schemas.
const oasisBase = "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/"

// TestToSTIXAgainstOASISSchemas validates every object of a rich conversion with
// the official OASIS STIX 2.1 JSON Schemas, as a second opinion beside stix.Parse.
func TestToSTIXAgainstOASISSchemas(t *testing.T) {
	dir := realdata.Path(t, "stix/schemas")
	files, err := filepath.Glob(filepath.Join(dir, "*", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no schemas in %s: %v", dir, err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	urls := map[string]string{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		rel := filepath.ToSlash(strings.TrimPrefix(f, dir+string(filepath.Separator)))
		if err := c.AddResource(oasisBase+rel, doc); err != nil {
			t.Fatal(err)
		}
		urls[strings.TrimSuffix(filepath.Base(rel), ".json")] = oasisBase + rel
	}
	compiled := map[string]*jsonschema.Schema{}
	check := func(typ string, raw []byte) {
		t.Helper()
		sch := compiled[typ]
		if sch == nil {
			url, ok := urls[typ]
			if !ok {
				t.Fatalf("no OASIS schema for %s", typ)
			}
			if sch, err = c.Compile(url); err != nil {
				t.Fatalf("compile %s: %v", url, err)
			}
			compiled[typ] = sch
		}
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(inst); err != nil {
			t.Errorf("%s: %v\n%s", typ, err, raw)
		}
	}
	v1 := richReport(t)
	objs, err := ToSTIX(v1, STIXOptions{Operator: testOperator(), Created: received1, Modified: received1})
	if err != nil {
		t.Fatal(err)
	}
	v2 := richReport(t)
	v2.Indicators = v2.Indicators[2:]
	upd, err := ToSTIX(v2, STIXOptions{Operator: testOperator(), Created: received1, Modified: received2, History: []*Report{v1}})
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]bool{}
	for _, o := range append(objs, upd...) {
		check(o.Type, o.Raw)
		types[o.Type] = true
	}
	check("extension-definition", ExtensionDefinition())
	for _, want := range []string{"identity", "incident", "indicator", "observed-data", "relationship", "marking-definition", "ipv4-addr", "ipv6-addr", "domain-name", "url", "email-addr", "file"} {
		if !types[want] {
			t.Errorf("no %s was produced", want)
		}
	}
}
