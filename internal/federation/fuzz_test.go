package federation

import (
	"encoding/json"
	"testing"
)

// FuzzParsePage feeds the puller hostile answers of a peer: it never panics, and a
// page it accepts has a cursor that is a timestamp and objects that are JSON.
func FuzzParsePage(f *testing.F) {
	f.Add([]byte(`{"more":true,"next":"17","objects":[{"type":"indicator"}]}`), "2026-01-01T00:00:00.000001Z")
	f.Add([]byte(`{"objects":[]}`), "")
	f.Add([]byte(`{"more":1}`), "x")
	f.Fuzz(func(t *testing.T, b []byte, last string) {
		pg, err := parsePage(b, last)
		if err != nil {
			return
		}
		if len(pg.Next) > 200 || len(pg.Objects) > MaxEnvelope {
			t.Fatalf("unbounded page accepted: %d %d", len(pg.Next), len(pg.Objects))
		}
		for _, o := range pg.Objects {
			if !json.Valid(o) {
				t.Fatalf("not JSON: %q", o)
			}
		}
	})
}
