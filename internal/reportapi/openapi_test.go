package reportapi

import (
	"bytes"
	"net/http"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"quadshare/internal/report"
)

// The answers of the API are what its published description (openapi.json) says.
func TestAnswersMatchOpenAPI(t *testing.T) {
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	for url, raw := range map[string][]byte{"openapi.json": report.OpenAPI(), report.SchemaID: report.Schema()} {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		if err := c.AddResource(url, doc); err != nil {
			t.Fatal(err)
		}
	}
	schema := func(name string) *jsonschema.Schema {
		sch, err := c.Compile("openapi.json#/components/schemas/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return sch
	}
	check := func(r resp, name string) {
		t.Helper()
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(r.body))
		if err != nil {
			t.Fatalf("%s: %v", r, err)
		}
		if err := schema(name).Validate(inst); err != nil {
			t.Errorf("%s does not match %s: %v", r.body, name, err)
		}
	}

	e := newEnv(t)
	detected := time.Now().Add(-2 * time.Hour)
	sub := must(t, e.do(http.MethodPost, "grid", "/reports", doc(t, detected, map[string]any{
		"ransom":            map[string]any{"demanded": true, "paid": true, "paid_at": detected.UTC().Format(time.RFC3339)},
		"affected_services": []string{"billing"}, "idempotency_key": "k1",
		"attachments": []map[string]any{{"name": "log.txt", "sha256": string(bytes.Repeat([]byte("a"), 64)), "size": 10}},
	})), http.StatusCreated)
	check(sub, "Receipt")
	id := receiptOf(t, sub).ReportID
	check(must(t, e.do(http.MethodPost, "grid", "/reports", doc(t, detected, map[string]any{"id": id, "ongoing": false})), http.StatusCreated), "Receipt")
	must(t, e.do(http.MethodPost, "analyst", "/reports/"+id+"/notes", []byte(`{"status":"triaged","text":"ok"}`)), http.StatusOK)
	must(t, e.do(http.MethodPost, "analyst", "/reports/"+id+"/marking", []byte(`{"tlp":"red"}`)), http.StatusOK)
	check(must(t, e.do(http.MethodPost, "analyst", "/reports/"+id+"/release", []byte(`{"collection":"partners"}`)), http.StatusOK), "View")
	check(must(t, e.do(http.MethodGet, "analyst", "/reports/"+id, nil), http.StatusOK), "View")
	own := must(t, e.do(http.MethodGet, "grid", "/reports/"+id, nil), http.StatusOK)
	check(own, "View")
	// The check can fail: a view is not a receipt.
	if inst, _ := jsonschema.UnmarshalJSON(bytes.NewReader(own.body)); schema("Receipt").Validate(inst) == nil {
		t.Fatal("the receipt schema accepts a view")
	}
	check(must(t, e.do(http.MethodGet, "analyst", "/reports?limit=1", nil), http.StatusOK), "List")
	check(must(t, e.do(http.MethodGet, "grid", "/receipt-key", nil), http.StatusOK), "ReceiptKey")
	for _, r := range []resp{
		must(t, e.do(http.MethodPost, "grid", "/reports", []byte(`{`)), http.StatusBadRequest),
		must(t, e.do(http.MethodPost, "grid", "/reports", []byte(`{"title":1}`)), http.StatusUnprocessableEntity),
		must(t, e.do(http.MethodGet, "grid", "/reports?limit=0", nil), http.StatusUnprocessableEntity),
		must(t, e.do(http.MethodGet, "tel", "/reports/"+id, nil), http.StatusNotFound),
		must(t, e.do(http.MethodGet, "", "/reports", nil), http.StatusUnauthorized),
		must(t, e.do(http.MethodPost, "analyst", "/reports/"+id+"/notes", []byte(`{"status":"new"}`)), http.StatusConflict),
	} {
		check(r, "Error")
	}
}
