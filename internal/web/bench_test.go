package web_test

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"testing"
	"time"

	"quadshare/internal/stix"
	"quadshare/internal/store"
)

// benchObjects is the size of the collection the page benchmarks read.
func benchObjects(b *testing.B) int {
	n := 100_000
	if s := os.Getenv("QUADSHARE_WEB_BENCH_OBJECTS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 {
			b.Fatalf("QUADSHARE_WEB_BENCH_OBJECTS=%q", s)
		}
		n = v
	}
	return n
}

// BenchmarkPages times pages over a collection of many objects, from request to the
// last byte over TLS on 127.0.0.1: the server's time plus the client's, each page
// through the gate and with its disclosure made durable in the audit trail.
func BenchmarkPages(b *testing.B) {
	e := newEnv(b)
	n := benchObjects(b)
	start := time.Now()
	ctx := context.Background()
	const batch = 2000
	for i := 0; i < n; i += batch {
		objs := make([]stix.Object, 0, batch)
		for j := i; j < min(i+batch, n); j++ {
			o, err := stix.Parse([]byte(indicator(j+1, "indicator "+strconv.Itoa(j+1)+" beacon", tlpGreen)))
			if err != nil {
				b.Fatal(err)
			}
			objs = append(objs, o)
		}
		if _, err := e.st.Put(ctx, e.coll, e.agency.ID, objs); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("%d objects stored in %v", n, time.Since(start).Round(time.Millisecond))
	br := e.as("cleared")
	pages := []struct{ name, path string }{
		{"first-page", "/ui/objects?collection=" + collIntel},
		{"filtered-page", "/ui/objects?collection=" + collIntel + "&type=indicator&from=2000-01-01"},
		{"late-page", "/ui/objects?collection=" + collIntel + "&after=" + url.QueryEscape(time.Now().Add(-time.Second).UTC().Format(time.RFC3339Nano))},
		{"search", "/ui/objects?q=" + url.QueryEscape("indicator "+strconv.Itoa(n/2))},
		{"object", "/ui/collections/" + collIntel + "/objects/" + indicatorID(n/2)},
		{"dashboard", "/ui/dashboard"},
	}
	// The store's own time for the object page's query, to tell the page from the store.
	for name, v := range map[string]store.VersionFilter{"all": {All: true}, "last": {}} {
		b.Run("store-query-by-id-"+name, func(b *testing.B) {
			for b.Loop() {
				if _, err := e.st.Query(ctx, store.Query{Collection: collIntel, IDs: []string{indicatorID(n / 2)},
					Versions: v, Limit: 200}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	for _, p := range pages {
		b.Run(p.name, func(b *testing.B) {
			for b.Loop() {
				must(b, br.get(p.path), http.StatusOK)
			}
		})
	}
}
