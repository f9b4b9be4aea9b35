package taxii

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"

	"quadshare/internal/auth"
	"quadshare/internal/gate"
	"quadshare/internal/httpx"
	"quadshare/internal/stix"
	"quadshare/internal/store"
)

// BenchmarkPolicyPage measures what the sharing policy adds to a TAXII page of
// 100 objects: "page" is the whole GET objects request served in process (query,
// gate, envelope), "gate" is gate.Release alone on the same 100 entries
// (decision, redaction, audit record). The page without the policy costs
// page - gate, so the overhead is gate / (page - gate), reported as
// printed after each pair.
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
		// One client after another, then 8 at once (the trail then commits the
		// disclosures of several pages together).
		for _, clients := range []int{1, 8} {
			var pageNs float64
			run := func(name string, op func(*testing.B), after func(ns float64)) {
				b.Run(fmt.Sprintf("%s/clients=%d/%s", who, clients, name), func(b *testing.B) {
					b.SetParallelism(max(1, clients/runtime.GOMAXPROCS(0)))
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
					after(float64(b.Elapsed().Nanoseconds()) / float64(b.N))
				})
			}
			run("page", page, func(ns float64) { pageNs = ns })
			run("gate", release, func(gateNs float64) {
				if pageNs > gateNs {
					fmt.Printf("policy overhead, %s, %d clients: %.1f%% (page %.0f µs, gate %.0f µs)\n",
						who, clients, 100*gateNs/(pageNs-gateNs), pageNs/1e3, gateNs/1e3)
				}
			})
		}
	}
}
