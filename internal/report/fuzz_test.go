package report

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// FuzzDecode feeds hostile documents to the decoder: it must never panic, must
// return either a report or an error (never both), and a report it accepts must
// convert to valid STIX, hash, and decode again to the same content.
func FuzzDecode(f *testing.F) {
	f.Add(encode(f, validDoc()))
	f.Add(`{"title":"t","description":"d","detected_at":"2026-11-22T03:00:00Z","impact":"none","ongoing":false,"tlp":"clear"}`)
	f.Add(`{"title":"t","description":"d","detected_at":"2026-11-22T03:00:00Z","impact":"minor","ongoing":true,"tlp":"red",` +
		`"indicators":[{"kind":"url","value":"http://x.example/'\\"},{"kind":"domain","value":"XN--BCHER-KVA.example"}]}`)
	f.Add(`{"title":"a","title":"b"}`)
	f.Add(`{"indicators":[{"kind":"hash","algorithm":"SHA-512","value":"` + strings.Repeat("A", 128) + `"}]}`)
	f.Add(`{"ransom":{"paid":true},"attachments":[{"name":"a","sha256":"x","size":1e3}]}`)
	f.Add(`[{"title":"\u202e"}]`)
	f.Add(`{"detected_at":"9999-12-31T23:59:59.999999999+14:00","started_at":"1970-01-01T00:00:00-12:00"}`)
	now := time.Date(2026, 11, 22, 4, 0, 0, 0, time.UTC)
	base, err := DecodeWith(strings.NewReader(encode(f, validDoc())), DefaultSectors(), now)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, doc string) {
		rep, err := DecodeWith(strings.NewReader(doc), DefaultSectors(), now)
		if err != nil {
			if rep != nil {
				t.Fatal("a report and an error")
			}
			if !errors.Is(err, ErrInvalid) && !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		h1, err := rep.Hash()
		if err != nil {
			t.Fatal(err)
		}
		id := rep.ID
		rep.ID = "0b6c7e4a-5d1f-4c2e-9a8b-3f2d1e0c9b8a"
		at := rep.DetectedAt
		if at.Before(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)) {
			at = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
		}
		if _, err := ToSTIX(rep, STIXOptions{Operator: testOperator(), Created: at, Modified: at}); err != nil {
			t.Fatalf("accepted report does not convert: %v", err)
		}
		// As an update of the rich report, and the rich report as an update of it.
		prev := *base
		prev.ID = rep.ID
		later := at.Add(time.Second)
		if _, err := ToSTIX(rep, STIXOptions{Operator: testOperator(), Created: at, Modified: later, History: []*Report{&prev}}); err != nil {
			t.Fatalf("accepted report does not convert as an update: %v", err)
		}
		if _, err := ToSTIX(&prev, STIXOptions{Operator: testOperator(), Created: at, Modified: later, History: []*Report{rep}}); err != nil {
			t.Fatalf("an update of the accepted report does not convert: %v", err)
		}
		// Re-encoding the accepted report gives a document that decodes to the same.
		rep.ID = id
		again, err := DecodeWith(strings.NewReader(encode(t, rep)), DefaultSectors(), now)
		if err != nil {
			t.Fatalf("re-encoded report refused: %v", err)
		}
		h2, _ := again.Hash()
		if h1 != h2 {
			t.Fatalf("round trip changed the report")
		}
	})
}
