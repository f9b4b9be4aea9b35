package federation

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
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

// FuzzRefusal: what a refusal quotes of a peer's object (its id, its version, the
// reason) is text every store keeps: no U+0000, only UTF-8, bounded.
func FuzzRefusal(f *testing.F) {
	f.Add([]byte(`{"id":"indicator--0000000\u0000-0000-4000-8000-000000000000","modified":"2020-01-01T00:00:00.000Z\u0000"}`), "invalid timestamp \"\x00\xff\"")
	f.Fuzz(func(t *testing.T, raw []byte, reason string) {
		id, version := peek(raw)
		msg := clipMsg(reason)
		for _, s := range []string{id, version, msg} {
			if strings.ContainsRune(s, 0) || !utf8.ValidString(s) || len(s) > 6*500 {
				t.Fatalf("refusal text %q", s)
			}
		}
	})
}
