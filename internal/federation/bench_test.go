package federation_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"quadshare/internal/cputime"
	"quadshare/internal/gctune"
	"quadshare/internal/stix"
	"quadshare/internal/store"
)

// has reports whether the node's inbound collection holds id.
func (tn *testNode) has(id string) bool {
	pg, err := tn.st.Query(context.Background(), store.Query{Collection: tn.n.Federation.Inbound().ID, IDs: []string{id},
		Versions: store.VersionFilter{All: true}, Limit: 1})
	return err == nil && len(pg.Entries) > 0
}

// holdsAll reports whether the node's inbound collection holds every one of objs.
// Objects arrive in the order they were stored at the origin, so it waits for the
// last one (a count of the collection, polled, would cost the benchmark time in
// proportion to what it holds), then counts once.
func (tn *testNode) holdsAll(objs []stix.Object) bool {
	if !tn.has(objs[len(objs)-1].ID) {
		return false
	}
	c, err := tn.st.Count(context.Background(), tn.n.Federation.Inbound().ID)
	return err == nil && c >= len(objs)
}

// reportCPU reports the CPU time of the process (both nodes, and the test storing
// the objects at the origin) per object, when it is measured.
func reportCPU(b *testing.B, cpu time.Duration, n int) {
	if cpu > 0 {
		b.ReportMetric(float64(cpu.Microseconds())/float64(n), "cpu-us/object")
	}
}

// BenchmarkPropagation: four nodes on loopback, full mesh with real mutual TLS; one
// TLP:GREEN object stored at JP (as a TAXII POST acknowledges it) until it is
// available at AU, IN and US. Reports p50 and p95 of that time.
func BenchmarkPropagation(b *testing.B) {
	defer gctune.ForServer()() // as serve sets it
	all := []string{"AU", "IN", "JP", "US"}
	others := func(n string) []string {
		return slices.DeleteFunc(slices.Clone(all), func(s string) bool { return s == n })
	}
	au, in, jp, us := newTestNode(b, "AU", others("AU")...), newTestNode(b, "IN", others("IN")...),
		newTestNode(b, "JP", others("JP")...), newTestNode(b, "US", others("US")...)
	mesh(b, au, in, jp, us)
	// warm up: workers started, connections open
	w := indicator(tlpGreen, "warm up")
	jp.put(w)
	waitFor(b, 10*time.Second, "warm-up object", func() bool { return au.has(w.ID) && in.has(w.ID) && us.has(w.ID) })

	var lat []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		o := indicator(tlpGreen, fmt.Sprintf("latency %d", i))
		start := time.Now()
		jp.put(o)
		pending := []*testNode{au, in, us}
		for len(pending) > 0 {
			pending = slices.DeleteFunc(pending, func(n *testNode) bool { return n.has(o.ID) })
			if time.Since(start) > 30*time.Second {
				b.Fatalf("object %d not everywhere after 30s", i)
			}
			if len(pending) > 0 {
				time.Sleep(time.Millisecond)
			}
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[(len(lat)*95)/100].Microseconds())/1000, "p95-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
}

// BenchmarkThroughput: JP to AU (peers=1), and JP to AU, IN and US (peers=3),
// objects stored at JP in batches of 1000 as fast as the store takes them, until
// every peer holds them all: gate, signature, outbox, POST over mutual TLS,
// verification and storage at each peer. Reports objects/s end to end (objects
// delivered to every peer per second).
func BenchmarkThroughput(b *testing.B) {
	defer gctune.ForServer()() // as serve sets it
	for _, peers := range [][]string{{"AU"}, {"AU", "IN", "US"}} {
		b.Run(fmt.Sprintf("peers=%d", len(peers)), func(b *testing.B) {
			jp := newTestNode(b, "JP", peers...)
			nodes := []*testNode{jp}
			for _, p := range peers {
				nodes = append(nodes, newTestNode(b, p, "JP"))
			}
			mesh(b, nodes...)
			n := max(b.N, 1000)
			objs := make([]stix.Object, n)
			for i := range objs {
				objs[i] = indicator(tlpGreen, fmt.Sprintf("throughput %d", i))
			}
			b.ResetTimer()
			start, cpu0 := time.Now(), cputime.Process()
			for i := 0; i < n; i += 1000 {
				jp.put(objs[i:min(i+1000, n)]...)
			}
			waitFor(b, 10*time.Minute, "all objects at every peer", func() bool {
				for _, tn := range nodes[1:] {
					if !tn.holdsAll(objs) {
						return false
					}
				}
				return true
			})
			el, cpu := time.Since(start), cputime.Process()-cpu0
			b.StopTimer()
			b.ReportMetric(float64(n)/el.Seconds(), "objects/s")
			reportCPU(b, cpu, n)
			b.ReportMetric(0, "ns/op")
		})
	}
}

// BenchmarkCatchUp: AU is down while JP stores b.N objects (at least 1,000); then AU
// starts again. Reports the time from AU's start until it holds them all, and the rate.
func BenchmarkCatchUp(b *testing.B) {
	defer gctune.ForServer()() // as serve sets it
	jp := newTestNode(b, "JP", "AU")
	au := newTestNode(b, "AU", "JP")
	mesh(b, jp, au)
	au.stop()
	n := max(b.N, 1000)
	objs := make([]stix.Object, n)
	for i := range objs {
		objs[i] = indicator(tlpGreen, fmt.Sprintf("catch-up %d", i))
	}
	for i := 0; i < n; i += 1000 {
		jp.put(objs[i:min(i+1000, n)]...)
	}
	waitFor(b, 30*time.Minute, "JP queues everything", func() bool {
		p, _ := jp.st.Peer(context.Background(), "node-AU")
		return p.Queued == int64(n)
	})
	b.ResetTimer()
	start, cpu0 := time.Now(), cputime.Process()
	au.restart()
	waitFor(b, 30*time.Minute, "AU catches up", func() bool { return au.holdsAll(objs) })
	el, cpu := time.Since(start), cputime.Process()-cpu0
	b.StopTimer()
	b.ReportMetric(el.Seconds(), "catch-up-s")
	b.ReportMetric(float64(n)/el.Seconds(), "objects/s")
	reportCPU(b, cpu, n)
	b.ReportMetric(0, "ns/op")
}
