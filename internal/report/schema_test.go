package report

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(Schema()))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource(SchemaID, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(SchemaID)
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

func schemaVerdict(t *testing.T, sch *jsonschema.Schema, doc string) error {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader([]byte(doc)))
	if err != nil {
		t.Fatal(err)
	}
	return sch.Validate(inst)
}

// TestSchemaAgreesWithDecode checks the published schema against the decoder: what
// the decoder accepts the schema accepts, and what it refuses the schema refuses,
// except for the rules a schema cannot express.
func TestSchemaAgreesWithDecode(t *testing.T) {
	sch := compileSchema(t)
	for _, doc := range []string{
		encode(t, validDoc()),
		`{"title":"t","description":"d","detected_at":"2026-11-22T03:00:00Z","impact":"none","ongoing":false,"tlp":"clear"}`,
	} {
		if _, err := decodeString(doc); err != nil {
			t.Fatal(err)
		}
		if err := schemaVerdict(t, sch, doc); err != nil {
			t.Errorf("schema refuses a valid report: %v", err)
		}
	}
	// Rules only the decoder can check: relations between fields, the clock, the
	// meaning of values and uniqueness after normalisation.
	semantic := map[string]bool{
		"id upper case": false, "started_at after detected": true, "detected_at future": true,
		"detected_at ancient": true, "ransom paid before start": true,
		"ip bad": true, "ip zone": true, "ip cidr": true, "domain single label": true, "domain unicode": true,
		"domain injection": true, "domain hyphen": true, "domain numeric tld": true, "url relative": true,
		"url space": true, "email no at": true, "email quote": true, "email bad domain": true,
		"hash length": true, "hash not hex": true, "indicator duplicate after normalising": true,
		"attachment duplicate": true, "attachment size fraction": false, "started_at format": true,
		"started_at no zone": true, "url long": true, "url control": false,
	}
	for _, tt := range fieldErrorCases() {
		m := validDoc()
		tt.edit(m)
		doc := encode(t, m)
		err := schemaVerdict(t, sch, doc)
		if err == nil && !semantic[tt.name] {
			t.Errorf("%s: the schema accepts what the decoder refuses", tt.name)
		}
	}
}

func TestOpenAPI(t *testing.T) {
	var doc struct {
		OpenAPI    string                     `json:"openapi"`
		Paths      map[string]json.RawMessage `json:"paths"`
		Components struct {
			Schemas map[string]struct {
				Ref string `json:"$ref"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" || doc.Paths["/reports"] == nil || doc.Components.Schemas["IncidentReport"].Ref != SchemaID {
		t.Errorf("openapi fragment: %+v", doc)
	}
	// The receipt schema in the fragment describes a real receipt.
	var full map[string]any
	if err := json.Unmarshal(OpenAPI(), &full); err != nil {
		t.Fatal(err)
	}
	rcSchema, _ := json.Marshal(full["components"].(map[string]any)["schemas"].(map[string]any)["Receipt"])
	c := jsonschema.NewCompiler()
	inst, _ := jsonschema.UnmarshalJSON(bytes.NewReader(rcSchema))
	if err := c.AddResource("receipt.json", inst); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("receipt.json")
	if err != nil {
		t.Fatal(err)
	}
	rc := Receipt{ReportID: NewID(), Version: 1, Received: testNow, ContentHash: "sha256:" + string(bytes.Repeat([]byte("a"), 64)), Node: "AU", Signature: "c2ln"}
	raw, _ := json.Marshal(rc)
	if err := schemaVerdict(t, sch, string(raw)); err != nil {
		t.Errorf("receipt schema refuses a receipt: %v", err)
	}
}
