package report

import (
	_ "embed"
	"slices"
)

// The published description of the format: a JSON Schema (draft 2020-12) of the
// report and an OpenAPI 3.1 fragment of the submission endpoint. Decode is the
// authority; the schema says everything a schema can (docs/reporting.md lists the
// rules it cannot).
var (
	//go:embed schema.json
	schemaJSON []byte
	//go:embed openapi.json
	openAPIJSON []byte
)

// SchemaID is the $id of the report schema, by which the OpenAPI fragment refers to it.
const SchemaID = "https://quadshare.invalid/schemas/incident-report.json"

// Schema returns the JSON Schema of a report.
func Schema() []byte { return slices.Clone(schemaJSON) }

// OpenAPI returns the OpenAPI 3.1 description of the submission endpoint.
func OpenAPI() []byte { return slices.Clone(openAPIJSON) }
