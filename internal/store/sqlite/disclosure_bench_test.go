package sqlite

import (
	"fmt"
	"testing"
	"time"

	"quadshare/internal/audit"
	"quadshare/internal/cputime"
	"quadshare/internal/store/storetest"
)

// BenchmarkDisclosure measures AppendAudit of one disclosure record naming n
// object versions, as the gate records a TAXII page: what the trail adds to a
// read, and how much of it grows with the page.
func BenchmarkDisclosure(b *testing.B) {
	for _, n := range []int{1, 10, 40, 60, 90, 100, 200} {
		b.Run(fmt.Sprintf("objects=%d", n), func(b *testing.B) {
			s := openTemp(b, WithAuditKey(storetest.AuditKey))
			defer s.Close()
			refs := make([]audit.ObjectRef, n)
			for i := range refs {
				refs[i] = audit.ObjectRef{ID: fmt.Sprintf("indicator--%08x-0000-4000-8000-000000000000", i), Version: "2026-01-01T00:00:00.000Z"}
			}
			e := audit.Entry{Kind: audit.Disclosure, Time: s.now(), Actor: "user:analyst", Subject: "collection:c",
				Rule: "allow", Objects: refs, Detail: []byte(`{"endpoint":"objects"}`)}
			c0 := cputime.Process()
			for b.Loop() {
				if err := s.AppendAudit(b.Context(), e); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64((cputime.Process()-c0).Microseconds())/float64(b.N), "cpu-µs/op")
		})
	}
}

// BenchmarkTrailIndex measures the index of disclosures by object (trailindex.go)
// for a paginated walk: each iteration appends the records of one walk of
// 1,000,000 objects in pages of 1,000, then indexes them; the index grows by a walk
// each time, as when partners poll a collection.
func BenchmarkTrailIndex(b *testing.B) {
	const objects, page = 1_000_000, 1000
	s := openTemp(b, WithAuditKey(storetest.AuditKey))
	defer s.Close()
	refs := make([]audit.ObjectRef, objects)
	for i := range refs {
		refs[i] = audit.ObjectRef{ID: storetest.NewID("indicator"), Version: "2026-01-01T00:00:00.000Z"}
	}
	var cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		for p := 0; p < objects; p += page {
			e := audit.Entry{Kind: audit.Disclosure, Time: s.now(), Actor: "user:partner", Subject: "collection:c",
				Rule: "allow", Objects: refs[p : p+page], Detail: []byte(`{"endpoint":"objects"}`)}
			if err := s.AppendAudit(b.Context(), e); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		c0 := cputime.Process()
		if err := s.ti.catchUp(b.Context()); err != nil {
			b.Fatal(err)
		}
		cpu += cputime.Process() - c0
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*objects), "ns/object")
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N*objects), "cpu-ns/object")
}
