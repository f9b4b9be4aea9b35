package policy

import (
	"math/rand/v2"
	"os"
	"testing"
	"time"
)

func loadTestEngine(tb testing.TB) *Engine {
	tb.Helper()
	fh, err := os.Open("testdata/policy.json")
	if err != nil {
		tb.Fatal(err)
	}
	defer fh.Close()
	cfg, err := LoadConfig(fh)
	if err != nil {
		tb.Fatal(err)
	}
	e, err := New(cfg, DefaultScales())
	if err != nil {
		tb.Fatal(err)
	}
	return e
}

// BenchmarkDecide decides over pre-extracted facts: a mix of random objects and
// recipients of every class, as the read paths will see them.
func BenchmarkDecide(b *testing.B) {
	e := loadTestEngine(b)
	rng := rand.New(rand.NewPCG(1, 2))
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	const n = 1024
	facts := make([]Facts, n)
	recips := make([]Recipient, n)
	for i := range n {
		c := oRandomCase(rng, now)
		f, err := e.Extract(c.json(b))
		if err != nil {
			b.Fatal(err)
		}
		if f.CreatedBy == oAgency { // the cases' agency is this configuration's
			f.CreatedBy = e.cfg.Agency
		}
		if c.r.Org == oAgency {
			c.r.Org = e.cfg.Agency
		}
		facts[i] = f
		recips[i] = c.r
	}
	var allowed int
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if e.Decide(&facts[i%n], &recips[(i*7)%n], now).Verdict != Deny {
			allowed++
		}
	}
	b.ReportMetric(float64(allowed)/float64(b.N), "sent/op")
}

// BenchmarkExtract is the once-per-version cost of Facts.
func BenchmarkExtract(b *testing.B) {
	e := loadTestEngine(b)
	rng := rand.New(rand.NewPCG(3, 4))
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	c := oRandomCase(rng, now)
	c.markings = []oMarking{{id: oracleTLPIDs[6].id, level: -1}, {id: ClassificationMarkingID("AU", 2), level: 2}}
	raw := c.json(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := e.Extract(raw); err != nil {
			b.Fatal(err)
		}
	}
}
