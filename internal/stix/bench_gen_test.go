package stix_test

import (
	"testing"

	"quadshare/internal/stix"
	"quadshare/internal/stix/stixgen"
)

// BenchmarkValidateGenerated measures Parse on the generator's realistic mix.
func BenchmarkValidateGenerated(b *testing.B) {
	g := stixgen.New(1)
	raws := make([][]byte, 10000)
	size := 0
	for i := range raws {
		raws[i] = g.Next()
		size += len(raws[i])
	}
	b.Run("single", func(b *testing.B) {
		b.SetBytes(int64(size / len(raws)))
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := stix.Parse(raws[i%len(raws)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "objects/s")
	})
	b.Run("parallel", func(b *testing.B) {
		b.SetBytes(int64(size / len(raws)))
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				if _, err := stix.Parse(raws[i%len(raws)]); err != nil {
					b.Error(err)
					return
				}
				i++
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "objects/s")
	})
}
