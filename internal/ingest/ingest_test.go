package ingest_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"quadshare/internal/ingest"
	"quadshare/internal/stix/stixgen"
	"quadshare/internal/store"
	"quadshare/internal/store/sqlite"
)

func openStore(t *testing.T) (store.Store, string) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir()+"/q.db")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c := store.Collection{ID: "4b5c1a3e-6f1d-4c2a-9f3e-0c1d2e3f4a5b", Title: "t", CreatedAt: time.Now()}
	if err := st.CreateCollection(ctx, c); err != nil {
		t.Fatal(err)
	}
	return st, c.ID
}

// bundle writes n generated objects as a bundle, with extra raw objects appended.
func bundle(t *testing.T, n int, extra ...string) (string, []string) {
	t.Helper()
	g := stixgen.New(7)
	var b strings.Builder
	b.WriteString(`{"type":"bundle","id":"bundle--0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e","objects":[`)
	var objs []string
	for i := range n {
		o := string(g.Next())
		objs = append(objs, o)
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(o)
	}
	for _, x := range extra {
		b.WriteByte(',')
		b.WriteString(x)
	}
	b.WriteString("]}")
	return b.String(), objs
}

func TestStreamStoresInInputOrder(t *testing.T) {
	st, coll := openStore(t)
	invalid := `{"type":"indicator","spec_version":"2.1","id":"indicator--not-a-uuid","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z"}`
	in, objs := bundle(t, 2500, invalid)
	var sum ingest.Summary
	var rejected []ingest.Rejection
	var progress int
	err := ingest.Stream(context.Background(), st, "in.json", strings.NewReader(in), ingest.Options{
		Collection: coll, BatchSize: 300, Workers: 3,
		Progress: func(ingest.Summary) { progress++ },
		Reject:   func(r ingest.Rejection) { rejected = append(rejected, r) },
	}, &sum)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Read != 2501 || sum.Rejected != 1 || sum.Added+sum.Duplicates != 2500 {
		t.Fatalf("summary %+v", sum)
	}
	if len(rejected) != 1 || rejected[0].Source != "in.json" || !strings.Contains(rejected[0].String(), "in.json:@") {
		t.Fatalf("rejections %v", rejected)
	}
	if progress != 9 { // ceil(2501/300) batches
		t.Errorf("progress called %d times, want 9", progress)
	}
	// Entries come back in the order they were read: date_added follows the input.
	var got []string
	q := store.Query{Collection: coll, Versions: store.VersionFilter{All: true}, Limit: 1000}
	for {
		p, err := st.Query(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range p.Entries {
			got = append(got, string(e.Object.Raw))
		}
		if !p.More {
			break
		}
		q.AddedAfter = p.Entries[len(p.Entries)-1].DateAdded
	}
	if len(got) != sum.Added {
		t.Fatalf("stored %d entries, summary says %d added", len(got), sum.Added)
	}
	k := 0
	for _, o := range objs {
		if k < len(got) && got[k] == o {
			k++
		}
	}
	if k != len(got) {
		t.Errorf("stored entries are not in input order (matched %d of %d)", k, len(got))
	}
}

func TestStreamMalformedKeepsAcknowledged(t *testing.T) {
	st, coll := openStore(t)
	in, _ := bundle(t, 1000)
	in = in[:len(in)-2] + `,{"type": "indicator", "id": ` // cut off mid-object
	var sum ingest.Summary
	err := ingest.Stream(context.Background(), st, "cut.json", strings.NewReader(in), ingest.Options{Collection: coll, BatchSize: 100}, &sum)
	if err == nil || !strings.Contains(err.Error(), "cut.json") {
		t.Fatalf("want an error naming the source, got %v", err)
	}
	n, err := st.Count(context.Background(), coll)
	if err != nil {
		t.Fatal(err)
	}
	if n != sum.Added || sum.Added == 0 {
		t.Fatalf("store has %d entries, summary says %d added", n, sum.Added)
	}
}

func TestStreamDryRunAndCancel(t *testing.T) {
	in, _ := bundle(t, 500)
	var sum ingest.Summary
	if err := ingest.Stream(context.Background(), nil, "x", strings.NewReader(in), ingest.Options{}, &sum); err != nil {
		t.Fatal(err)
	}
	if sum.Added != 500 {
		t.Fatalf("dry run counted %d valid, want 500", sum.Added)
	}
	st, coll := openStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := ingest.Stream(ctx, st, "x", strings.NewReader(in), ingest.Options{Collection: coll}, &ingest.Summary{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled stream: %v", err)
	}
}

func BenchmarkStream(b *testing.B) {
	g := stixgen.New(1)
	var sb strings.Builder
	sb.WriteString("[")
	const n = 20000
	for i := range n {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.Write(g.Next())
	}
	sb.WriteString("]")
	in := sb.String()
	for b.Loop() {
		b.StopTimer()
		st, err := sqlite.Open(context.Background(), b.TempDir()+"/b.db")
		if err != nil {
			b.Fatal(err)
		}
		c := store.Collection{ID: "4b5c1a3e-6f1d-4c2a-9f3e-0c1d2e3f4a5b", Title: "b", CreatedAt: time.Now()}
		if err := st.CreateCollection(context.Background(), c); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		var sum ingest.Summary
		if err := ingest.Stream(context.Background(), st, "b", strings.NewReader(in), ingest.Options{Collection: c.ID}, &sum); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if sum.Read != n {
			b.Fatal(fmt.Sprint(sum))
		}
		st.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "objects/s")
}
