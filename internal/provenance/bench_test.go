package provenance

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"strings"
	"testing"
	"time"

	"quadshare/internal/cputime"
	"quadshare/internal/stix"
)

func BenchmarkSign(b *testing.B) {
	s := newSigner(b, "JP")
	raw := []byte(indicator)
	cpu0 := cputime.Process()
	for b.Loop() {
		if _, err := s.Sign(raw); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu0)
}

// reportCPU reports the CPU time of the process per operation, beside ns/op: on a
// machine shared with other work the wall clock measures the neighbours too.
func reportCPU(b *testing.B, cpu0 time.Duration) {
	if cpu := cputime.Process() - cpu0; cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

func BenchmarkVerify(b *testing.B) {
	s := newSigner(b, "JP")
	signed, _ := s.Sign([]byte(indicator))
	keys := keysOf(s)
	cpu0 := cputime.Process()
	for b.Loop() {
		if _, err := Verify(signed, keys); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, cpu0)
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

// BenchmarkVerifyAll: an envelope of 1,000 objects signed by one node, parsed (as
// STIX) and verified together as a receiver does; ns/op is per object. "parse"
// parses with stix.Parse and lets VerifyAll write the canonical forms; "canonical"
// takes them from stix.ParseCanonical.
func BenchmarkVerifyAll(b *testing.B) {
	s := newSigner(b, "JP")
	keys := keysOf(s)
	raws := make([][]byte, 1000)
	for i := range raws {
		signed, err := s.Sign([]byte(strings.Replace(indicator, "bad domain", fmt.Sprintf("bad domain %d", i), 1)))
		if err != nil {
			b.Fatal(err)
		}
		raws[i] = signed
	}
	run := func(b *testing.B, withCanon bool) {
		cpu0 := cputime.Process()
		for i := 0; i < b.N; i += len(raws) {
			batch := raws[:min(len(raws), b.N-i)]
			objs, canons := make([][]byte, len(batch)), make([][]byte, len(batch))
			for j, raw := range batch {
				var o stix.Object
				var err error
				if withCanon {
					o, canons[j], err = stix.ParseCanonical(raw)
				} else {
					o, err = stix.Parse(raw)
				}
				if err != nil {
					b.Fatal(err)
				}
				objs[j] = o.Raw
			}
			if !withCanon {
				canons = nil
			}
			_, errs := VerifyAll(objs, canons, keys)
			for _, err := range errs {
				if err != nil {
					b.Fatal(err)
				}
			}
		}
		reportCPU(b, cpu0)
	}
	b.Run("parse", func(b *testing.B) { run(b, false) })
	b.Run("canonical", func(b *testing.B) { run(b, true) })
}

// BenchmarkEd25519 compares, per signature, crypto/ed25519.Verify with the batch of
// 1,000 signatures by one key (run with -cpu 1 for CPU per signature).
func BenchmarkEd25519(b *testing.B) {
	_, k, _ := ed25519.GenerateKey(rand.Reader)
	pub := k.Public().(ed25519.PublicKey)
	checks := make([]sigCheck, 1000)
	for i := range checks {
		msg := []byte(strings.Replace(indicator, "bad domain", fmt.Sprintf("bad domain %d", i), 1))
		checks[i] = sigCheck{pub: pub, msg: msg, sig: ed25519.Sign(k, msg)}
	}
	b.Run("single", func(b *testing.B) {
		cpu0 := cputime.Process()
		for i := 0; b.Loop(); i++ {
			c := checks[i%len(checks)]
			if !ed25519.Verify(c.pub, c.msg, c.sig) {
				b.Fatal("does not verify")
			}
		}
		reportCPU(b, cpu0)
	})
	b.Run("batch", func(b *testing.B) {
		cpu0 := cputime.Process()
		for i := 0; i < b.N; i += len(checks) {
			for _, ok := range verifyBatch(checks[:min(len(checks), b.N-i)]) {
				if !ok {
					b.Fatal("does not verify")
				}
			}
		}
		reportCPU(b, cpu0)
	})
}
