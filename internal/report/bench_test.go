package report

import (
	"crypto/ed25519"
	"strings"
	"testing"
)

// BenchmarkDecode decodes the rich test report (seven indicators, every field).
func BenchmarkDecode(b *testing.B) {
	doc := encode(b, validDoc())
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeWith(strings.NewReader(doc), DefaultSectors(), testNow); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkToSTIX converts the rich test report, validating every object.
func BenchmarkToSTIX(b *testing.B) {
	rep, err := DecodeWith(strings.NewReader(encode(b, validDoc())), DefaultSectors(), testNow)
	if err != nil {
		b.Fatal(err)
	}
	opts := STIXOptions{Operator: testOperator(), Created: received1, Modified: received1}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		objs, err := ToSTIX(rep, opts)
		if err != nil {
			b.Fatal(err)
		}
		n = len(objs)
	}
	b.ReportMetric(float64(n), "objects/op")
}

// BenchmarkReceipt signs and verifies one receipt.
func BenchmarkReceipt(b *testing.B) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	rep, err := DecodeWith(strings.NewReader(encode(b, validDoc())), DefaultSectors(), testNow)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		rc, err := NewReceipt(rep, 1, received1, "AU", DefaultDeadlines().Judge("AU", []Version{{rep, received1}}), priv)
		if err != nil {
			b.Fatal(err)
		}
		if err := rc.Verify(pub); err != nil {
			b.Fatal(err)
		}
	}
}
