package provenance

import (
	"testing"

	"quadshare/internal/stix"
)

func BenchmarkSign(b *testing.B) {
	s := newSigner(b, "JP")
	raw := []byte(indicator)
	for b.Loop() {
		if _, err := s.Sign(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	s := newSigner(b, "JP")
	signed, _ := s.Sign([]byte(indicator))
	keys := keysOf(s)
	for b.Loop() {
		if _, err := Verify(signed, keys); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseSigned(b *testing.B) {
	s := newSigner(b, "JP")
	signed, _ := s.Sign([]byte(indicator))
	for b.Loop() {
		if _, err := stix.Parse(signed); err != nil {
			b.Fatal(err)
		}
	}
}
