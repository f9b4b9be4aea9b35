package taxii

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"

	"quadshare/internal/auth"
	"quadshare/internal/cputime"
	"quadshare/internal/gate"
	"quadshare/internal/httpx"
	"quadshare/internal/stix"
	"quadshare/internal/store"
)

// BenchmarkPolicyPage measures what the sharing policy adds to a TAXII page of
// 100 objects: "page" is the whole GET objects request served in process (query,
// gate, envelope), "gate" is gate.Release alone on the same 100 entries
// (decision, redaction, audit record). The page without the policy costs
// page - gate, so the overhead is gate / (page - gate), printed after each
// pair both in time and in CPU (the process's, background work included: the
// trail's indexes, the search file), which other load on the machine disturbs
// less. "decide" is the decision and redaction alone (gate.Preview), without
// the audit record, the part of the gate that is the policy's own.
func BenchmarkPolicyPage(b *testing.B) {
	e := newEnv(b, Config{})
	ctx := context.Background()
	objs := make([]stix.Object, 1000)
	for i := range objs {
		o, err := stix.Parse(marked(i, gate.Identity(orgID("agency")), "a description of the threat", nil,
			"marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"))
		if err != nil {
			b.Fatal(err)
		}
		objs[i] = o
	}
	if _, err := e.st.Put(ctx, collA, orgID("agency"), objs); err != nil {
		b.Fatal(err)
	}
	h := e.srv.Handler()
	for _, who := range []string{"analyst", "peer"} {
		u, err := e.st.User(ctx, who)
		if err != nil {
			b.Fatal(err)
		}
		o, err := e.st.Organisation(ctx, u.Org)
		if err != nil {
			b.Fatal(err)
		}
		p := &auth.Principal{User: u, Org: o}
		url := e.root + "collections/" + collA + "/objects/?limit=100"
		page := func(b *testing.B) {
			r := httptest.NewRequestWithContext(auth.NewContext(ctx, p), http.MethodGet, url, nil)
			r.Header.Set("Accept", httpx.MediaType)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				b.Fatalf("status %d: %s", w.Code, w.Body)
			}
		}
		pg, err := e.st.Query(ctx, store.Query{Collection: collA, Limit: 100})
		if err != nil || len(pg.Entries) != 100 {
			b.Fatalf("query: %d, %v", len(pg.Entries), err)
		}
		d := gate.Disclosure{Recipient: e.srv.recipient(p), Actor: gate.Actor(u, o), Subject: "collection:" + collA, Endpoint: "objects"}
		release := func(b *testing.B) {
			out, err := e.srv.gate.Release(ctx, d, pg.Entries)
			if err != nil || len(out) != 100 {
				b.Fatalf("released %d: %v", len(out), err)
			}
		}
		decide := func(b *testing.B) {
			n := 0
			for range e.srv.gate.Preview(d.Recipient, pg.Entries) {
				n++
			}
			if n != 100 {
				b.Fatalf("previewed %d", n)
			}
		}
		// One client after another, then 8 at once (the trail then commits the
		// disclosures of several pages together).
		for _, clients := range []int{1, 8} {
			var pageNs, pageCPU float64
			run := func(name string, op func(*testing.B), after func(ns, cpu float64)) {
				b.Run(fmt.Sprintf("%s/clients=%d/%s", who, clients, name), func(b *testing.B) {
					b.SetParallelism(max(1, clients/runtime.GOMAXPROCS(0)))
					c0 := cputime.Process()
					if clients == 1 {
						for b.Loop() {
							op(b)
						}
					} else {
						b.RunParallel(func(pb *testing.PB) {
							for pb.Next() {
								op(b)
							}
						})
					}
					cpu := float64((cputime.Process() - c0).Nanoseconds()) / float64(b.N)
					b.ReportMetric(cpu/1e3, "cpu-µs/op")
					after(float64(b.Elapsed().Nanoseconds())/float64(b.N), cpu)
				})
			}
			var gateNs, gateCPU float64
			run("page", page, func(ns, cpu float64) { pageNs, pageCPU = ns, cpu })
			run("gate", release, func(ns, cpu float64) {
				gateNs, gateCPU = ns, cpu
				if pageNs > gateNs && pageCPU > gateCPU {
					fmt.Printf("policy and trail overhead, %s, %d clients: %.1f%% of time (page %.0f µs, gate %.0f µs), %.1f%% of CPU (page %.0f µs, gate %.0f µs)\n",
						who, clients, 100*gateNs/(pageNs-gateNs), pageNs/1e3, gateNs/1e3,
						100*gateCPU/(pageCPU-gateCPU), pageCPU/1e3, gateCPU/1e3)
				}
			})
			run("decide", decide, func(ns, cpu float64) {
				if pageNs > gateNs && pageCPU > gateCPU {
					fmt.Printf("policy overhead (decision and redaction), %s, %d clients: %.1f%% of time (%.0f µs), %.1f%% of CPU (%.0f µs)\n",
						who, clients, 100*ns/(pageNs-gateNs), ns/1e3, 100*cpu/(pageCPU-gateCPU), cpu/1e3)
				}
			})
		}
	}
}
