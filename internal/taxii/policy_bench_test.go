package taxii

import (
	"context"
	"net/http"
	"net/http/httptest"
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
// policy-overhead-% by the "gate" sub-benchmark.
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
	for _, name := range []string{"analyst", "peer"} {
		u, err := e.st.User(ctx, name)
		if err != nil {
			b.Fatal(err)
		}
		o, err := e.st.Organisation(ctx, u.Org)
		if err != nil {
			b.Fatal(err)
		}
		p := &auth.Principal{User: u, Org: o}
		url := e.root + "collections/" + collA + "/objects/?limit=100"
		var pageNs float64
		b.Run(name+"/page", func(b *testing.B) {
			for b.Loop() {
				r := httptest.NewRequestWithContext(auth.NewContext(ctx, p), http.MethodGet, url, nil)
				r.Header.Set("Accept", httpx.MediaType)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					b.Fatalf("status %d: %s", w.Code, w.Body)
				}
			}
			pageNs = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
		})
		pg, err := e.st.Query(ctx, store.Query{Collection: collA, Limit: 100})
		if err != nil || len(pg.Entries) != 100 {
			b.Fatalf("query: %d, %v", len(pg.Entries), err)
		}
		d := gate.Disclosure{Recipient: e.srv.recipient(p), Actor: gate.Actor(u, o), Subject: "collection:" + collA, Endpoint: "objects"}
		b.Run(name+"/gate", func(b *testing.B) {
			for b.Loop() {
				out, err := e.srv.gate.Release(ctx, d, pg.Entries)
				if err != nil || len(out) != 100 {
					b.Fatalf("released %d: %v", len(out), err)
				}
			}
			gateNs := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			if pageNs > gateNs {
				b.ReportMetric(100*gateNs/(pageNs-gateNs), "policy-overhead-%")
			}
		})
	}
}
