package audit

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"testing"
	"time"
)

// benchEntries returns a mix like a busy node's: one disclosure of a 10-object
// page in four records, the rest receipts and admin actions with a detail.
func benchEntries() []Entry {
	objs := make([]ObjectRef, 10)
	for i := range objs {
		objs[i] = ObjectRef{ID: fmt.Sprintf("indicator--%08x-1111-4111-8111-111111111111", i), Version: "2026-11-20T10:00:00.000Z"}
	}
	return []Entry{
		{Kind: Disclosure, Actor: "peer:jp", Subject: "collection:91a7b528-80eb-42ed-a74d-c6fbd5a26116", Rule: "agreement:jp/tlp-green", Objects: objs,
			Detail: []byte(`{"request":"c0ffee","page":3}`)},
		{Kind: Receipt, Actor: "org:operator-17", Subject: "report:report--3f0c", Detail: []byte(`{"version":2,"size":18211}`)},
		{Kind: AdminAction, Actor: "user:admin", Subject: "user:alice", Detail: []byte(`{"action":"grant","sector":"energy"}`)},
		{Kind: AuthEvent, Actor: "user:alice", Subject: "token:7", Detail: []byte(`{"result":"ok"}`)},
	}
}

func BenchmarkChain(b *testing.B) {
	es := benchEntries()
	var prev Record
	start := time.Unix(1795000000, 0)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		e := es[i%len(es)]
		e.Time = start.Add(time.Duration(i) * time.Millisecond)
		r, err := Chain(prev, e)
		if err != nil {
			b.Fatal(err)
		}
		prev = r
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// benchTrail chains n records of the bench mix with a checkpoint every 1000.
func benchTrail(b *testing.B, n int) (*memTrail, ed25519.PublicKey) {
	b.Helper()
	pub, priv := testKey(b, 1)
	es := benchEntries()
	m := &memTrail{recs: make([]Record, 0, n)}
	var prev Record
	start := time.Unix(1795000000, 0)
	for i := range n {
		e := es[i%len(es)]
		e.Time = start.Add(time.Duration(i) * time.Millisecond)
		r, err := Chain(prev, e)
		if err != nil {
			b.Fatal(err)
		}
		m.recs = append(m.recs, r)
		if Due(r.Seq, CheckpointEvery) {
			c, err := Sign(priv, r, e.Time)
			if err != nil {
				b.Fatal(err)
			}
			m.cps = append(m.cps, c)
		}
		prev = r
	}
	return m, pub
}

func BenchmarkVerify(b *testing.B) {
	for _, n := range []int{10_000, 1_000_000} {
		b.Run(fmt.Sprintf("records=%d", n), func(b *testing.B) {
			m, pub := benchTrail(b, n)
			b.ReportAllocs()
			for b.Loop() {
				rep, err := Verify(context.Background(), m, pub)
				if err != nil {
					b.Fatal(err)
				}
				if !rep.OK() || rep.Records != int64(n) || rep.Verified != int64(n/CheckpointEvery) {
					b.Fatalf("bench trail not intact: %s", rep)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}
