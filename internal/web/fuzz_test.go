package web

import (
	"encoding/json"
	"testing"
)

// FuzzReportForm feeds hostile form values to the form-to-document step: it never
// panics, and what it makes always encodes as JSON for the report decoder.
func FuzzReportForm(f *testing.F) {
	f.Add("t", "2026-01-01T10:00", "ip 203.0.113.1 # note\nhash SHA-256 ab", "T1486", `{"ransom":{"demanded":true}}`)
	f.Add("", "yesterday", "ip", ",,", "{")
	f.Add("\x00", "2026-13-01T99:99", " # \n#", "\n", `{"sectors":1,"x":2}`)
	f.Fuzz(func(t *testing.T, title, detected, indicators, techniques, carry string) {
		form := reportForm{Title: title, DetectedAt: detected, Indicators: indicators, Techniques: techniques, Carry: carry}
		doc, errs := form.document()
		if _, err := json.Marshal(doc); err != nil && len(errs) == 0 {
			t.Fatalf("document does not encode: %v", err)
		}
		for k := range doc {
			switch k {
			case "title", "description", "impact", "tlp", "ongoing", "idempotency_key", "id", "detected_at", "started_at",
				"affected_services", "indicators", "techniques", "notes", "ransom", "sectors", "attachments":
			default:
				t.Fatalf("member %q comes from nowhere", k)
			}
		}
	})
}

func TestSafeNext(t *testing.T) {
	for next, want := range map[string]string{
		"/ui/objects?q=x":        "/ui/objects?q=x",
		"//evil.example/ui":      "",
		"https://evil/ui/":       "",
		"/ui/\\evil":             "",
		"/ui/signin":             "",
		"/taxii2/":               "",
		"/ui/x\r\nSet-Cookie: a": "",
	} {
		if got := safeNext(next); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", next, got, want)
		}
	}
}
