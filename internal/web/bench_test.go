package web_test

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"quadshare/internal/audit"
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

const tlpAmber = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"

var serverTiming = regexp.MustCompile(`^page;dur=([0-9.]+)$`)

// BenchmarkPages times every page over a collection of many objects (one in ten
// TLP:AMBER, the rest TLP:GREEN), with a partner node, its traffic in the trail
// and reports filed through the form. Each page passes the gate and makes its
// disclosure durable in the trail. ns/op is request to last byte over TLS on
// 127.0.0.1; server-ms is the server's own time (its Server-Timing header), the
// figure of the speed goal, as the mean, the median and the slowest of the
// iterations (the first request of a page after the bulk load may be slow).
func BenchmarkPages(b *testing.B) {
	e := newEnv(b)
	n := benchObjects(b)
	start := time.Now()
	ctx := context.Background()
	// The partner's workers would walk the whole collection for the new peer:
	// the benchmark times pages, not federation.
	if err := e.n.Federation.Close(ctx); err != nil {
		b.Fatal(err)
	}
	const batch = 2000
	for i := 0; i < n; i += batch {
		objs := make([]stix.Object, 0, batch)
		for j := i; j < min(i+batch, n); j++ {
			mark := tlpGreen
			if j%10 == 0 {
				mark = tlpAmber
			}
			o, err := stix.Parse([]byte(indicator(j+1, "indicator "+strconv.Itoa(j+1)+" beacon", mark)))
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

	// A partner with a week of traffic in the trail, and reports to triage.
	jpPeer(b, e)
	now := time.Now()
	for d := range 7 * 24 {
		refs := make([]audit.ObjectRef, 100)
		for i := range refs {
			refs[i] = audit.ObjectRef{ID: indicatorID(d*100 + i + 1), Version: "2026-01-01T00:00:00.000Z"}
		}
		at := now.Add(-time.Duration(d) * time.Hour)
		if err := e.st.AppendAudit(ctx,
			audit.Entry{Kind: audit.Disclosure, Time: at, Actor: "peer:JP", Subject: "collection:" + collIntel, Rule: "agreement:jp/1", Objects: refs},
			audit.Entry{Kind: audit.Receipt, Time: at, Actor: "peer:jp-node", Subject: "collection:" + collIntel, Objects: refs}); err != nil {
			b.Fatal(err)
		}
	}
	op := e.as("op")
	const reports = 150
	var reportPath string
	for i := range reports {
		f := reportForm()
		f.Set("idempotency_key", "bench-"+strconv.Itoa(i))
		p := op.post("/ui/reports", f)
		if p.status != http.StatusSeeOther {
			b.Fatalf("report %d: %d %s", i, p.status, p.body)
		}
		reportPath, _, _ = strings.Cut(p.header.Get("Location"), "?")
	}
	b.Logf("a partner with a week of traffic, %d reports", reports)

	cleared, root := e.as("cleared"), e.as("root")
	list := "/ui/objects?collection=" + collIntel
	pages := []struct {
		name, path string
		as         *browser
	}{
		{"dashboard", "/ui/dashboard", cleared},
		{"objects-first-page", list, cleared},
		{"objects-type-date", list + "&type=indicator&from=2000-01-01", cleared},
		{"objects-late-page", list + "&after=" + url.QueryEscape(time.Now().Add(-time.Second).UTC().Format(time.RFC3339Nano)), cleared},
		{"objects-tlp", list + "&tlp=amber", cleared},
		{"objects-sector-none", list + "&sector=energy", cleared}, // matches nothing: the whole bounded scan
		{"objects-nation-none", list + "&nation=JP", cleared},     // idem
		{"search", "/ui/objects?q=" + url.QueryEscape("indicator "+strconv.Itoa(n/2)), cleared},
		{"search-common-word", "/ui/objects?q=beacon", cleared},
		{"search-tlp", "/ui/objects?q=beacon&tlp=amber", cleared},
		{"object", "/ui/collections/" + collIntel + "/objects/" + indicatorID(n/2), cleared},
		{"audit", "/ui/audit", cleared},
		{"reports", "/ui/reports", cleared},
		{"report", reportPath, cleared},
		{"report-form", "/ui/reports/new", op},
		{"admin", "/ui/admin", root},
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
			var ms []float64
			for b.Loop() {
				pg := must(b, p.as.get(p.path), http.StatusOK)
				m := serverTiming.FindStringSubmatch(pg.header.Get("Server-Timing"))
				if m == nil {
					b.Fatalf("no server timing: %q", pg.header.Get("Server-Timing"))
				}
				v, _ := strconv.ParseFloat(m[1], 64)
				ms = append(ms, v)
			}
			var sum float64
			for _, v := range ms {
				sum += v
			}
			slices.Sort(ms)
			b.ReportMetric(sum/float64(len(ms)), "server-ms")
			b.ReportMetric(ms[len(ms)/2], "server-ms-p50")
			b.ReportMetric(ms[len(ms)-1], "server-ms-max")
		})
	}
}
