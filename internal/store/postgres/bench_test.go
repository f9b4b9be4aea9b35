package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"quadshare/internal/stix"
	"quadshare/internal/store"
	"quadshare/internal/store/postgres"
	"quadshare/internal/store/postgres/pgtest"
	"quadshare/internal/store/storetest"
)

const benchTS = "2024-01-01T00:00:00.000Z"

// benchTypes are the types of the mixed objects, so a type filter selects one in eight.
var benchTypes = [...]string{"indicator", "malware", "attack-pattern", "campaign", "intrusion-set", "tool", "vulnerability", "threat-actor"}

// mixed returns a realistic object of about 600 bytes whose type cycles through
// benchTypes with n.
func mixed(tb testing.TB, n int) stix.Object {
	typ := benchTypes[n%len(benchTypes)]
	if typ == "indicator" {
		return storetest.Indicator(tb, n, benchTS)
	}
	return storetest.Obj(tb, storetest.NewID(typ), typ, benchTS, benchTS,
		"created_by_ref", "identity--f431f809-377b-45e0-aa1c-6a4751cae5ff",
		"name", fmt.Sprintf("%s number %d seen in the wild", typ, n),
		"description", "Observed by several operators in the energy and water sectors during the reporting period; shared under the partner agreement for correlation.",
		"labels", []string{"energy", "water"},
		"object_marking_refs", []string{"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"},
		"external_references", []map[string]string{{"source_name": "partner-report", "external_id": fmt.Sprintf("PR-%08d", n)}},
	)
}

func batch(tb testing.TB, from, n int) []stix.Object {
	objs := make([]stix.Object, n)
	for i := range objs {
		objs[i] = mixed(tb, from+i)
	}
	return objs
}

func benchStore(b *testing.B) (*postgres.Store, string) {
	b.Helper()
	s := pgtest.OpenStore(b)
	col := storetest.NewUUID()
	if err := s.CreateCollection(b.Context(), store.Collection{ID: col, Title: "bench", CreatedAt: time.Now()}); err != nil {
		b.Fatal(err)
	}
	return s, col
}

// load puts n mixed objects in batches of 1,000 and returns the ingest rate. It then
// updates the planner's statistics, as autovacuum does within a minute of a large
// ingest in production: without them the planner takes a fresh table for a tiny one.
func load(b *testing.B, s *postgres.Store, col string, n int) float64 {
	b.Helper()
	var busy time.Duration
	for from := 0; from < n; from += 1000 {
		objs := batch(b, from, min(1000, n-from))
		start := time.Now()
		if _, err := s.Put(b.Context(), col, "org-bench", objs); err != nil {
			b.Fatal(err)
		}
		busy += time.Since(start)
	}
	if err := s.Analyze(b.Context()); err != nil {
		b.Fatal(err)
	}
	return float64(n) / busy.Seconds()
}

// BenchmarkPut measures ingest: one Put of 1,000 realistic objects per iteration.
func BenchmarkPut(b *testing.B) {
	s, col := benchStore(b)
	objs := 0
	for b.Loop() {
		b.StopTimer()
		bt := batch(b, objs, 1000)
		b.StartTimer()
		if _, err := s.Put(b.Context(), col, "org-bench", bt); err != nil {
			b.Fatal(err)
		}
		objs += len(bt)
	}
	b.ReportMetric(float64(objs)/b.Elapsed().Seconds(), "objects/s")
}

func benchSize(def int) int {
	if v, err := strconv.Atoi(os.Getenv("QUADSHARE_PG_BENCH_OBJECTS")); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkQueryPages measures paginated reading: each iteration pages through the
// whole collection, 1,000 entries a page.
func BenchmarkQueryPages(b *testing.B) {
	s, col := benchStore(b)
	n := benchSize(100_000)
	load(b, s, col, n)
	read := 0
	for b.Loop() {
		var after time.Time
		for {
			p, err := s.Query(b.Context(), store.Query{Collection: col, AddedAfter: after, Limit: 1000})
			if err != nil {
				b.Fatal(err)
			}
			read += len(p.Entries)
			if !p.More {
				break
			}
			after = p.Entries[len(p.Entries)-1].DateAdded
		}
	}
	if read%n != 0 {
		b.Fatalf("read %d entries, not a multiple of %d", read, n)
	}
	b.ReportMetric(float64(read)/b.Elapsed().Seconds(), "objects/s")
}

// BenchmarkFilteredPage measures one page of 100 of one type (an eighth of the
// collection) from a random cursor, and reports the median and 95th percentile.
// QUADSHARE_PG_BENCH_OBJECTS sets the collection size (default 100,000).
func BenchmarkFilteredPage(b *testing.B) {
	s, col := benchStore(b)
	n := benchSize(100_000)
	rate := load(b, s, col, n)
	first, err := s.Query(b.Context(), store.Query{Collection: col, Limit: 1})
	if err != nil || len(first.Entries) != 1 {
		b.Fatal(err)
	}
	lo := first.Entries[0].DateAdded.UnixMicro()
	hi := lo + int64(n) // at least one microsecond apart
	rng := rand.New(rand.NewPCG(1, 2))
	var lat []time.Duration
	for b.Loop() {
		typ := benchTypes[rng.IntN(len(benchTypes))]
		after := time.UnixMicro(lo + rng.Int64N(hi-lo))
		start := time.Now()
		p, err := s.Query(b.Context(), store.Query{Collection: col, Types: []string{typ}, AddedAfter: after, Limit: 100})
		lat = append(lat, time.Since(start))
		if err != nil {
			b.Fatal(err)
		}
		for _, e := range p.Entries {
			if e.Object.Type != typ {
				b.Fatalf("type %s in a page of %s", e.Object.Type, typ)
			}
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(n), "objects")
	b.ReportMetric(rate, "load-objects/s")
	b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
	b.ReportMetric(ms(lat[len(lat)*95/100]), "p95-ms")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkPutProcesses compares the ingest rate of one process with that of two
// processes writing into one database at once (each its own collection, batches of
// 1,000). It starts child processes, so each iteration is one whole run.
func BenchmarkPutProcesses(b *testing.B) {
	for _, procs := range []int{1, 2} {
		b.Run(fmt.Sprintf("procs=%d", procs), func(b *testing.B) {
			url := pgtest.NewDatabase(b)
			if _, err := postgres.Migrate(b.Context(), url); err != nil {
				b.Fatal(err)
			}
			const batches = 40
			var rate float64
			for b.Loop() {
				start := time.Now().Add(2 * time.Second) // after every child has connected and built its batches
				cmds := make([]*exec.Cmd, procs)
				logs := make([]*strings.Builder, procs)
				for i := range procs {
					cmd := exec.CommandContext(b.Context(), os.Args[0], "-test.run=^TestMultiProcessChild$", "-test.count=1", "-test.v")
					cmd.Env = append(os.Environ(), envRole+"=bench-writer", envURL+"="+url, envSeed+"="+strconv.Itoa(i),
						envOut+"="+os.DevNull, "QUADSHARE_PG_CHILD_START="+strconv.FormatInt(start.UnixNano(), 10),
						"QUADSHARE_PG_CHILD_BATCHES="+strconv.Itoa(batches))
					logs[i] = &strings.Builder{}
					cmd.Stdout, cmd.Stderr = logs[i], logs[i]
					if err := cmd.Start(); err != nil {
						b.Fatal(err)
					}
					cmds[i] = cmd
				}
				var slowest time.Duration
				for i, cmd := range cmds {
					if err := cmd.Wait(); err != nil {
						b.Fatalf("child %d: %v\n%s", i, err, logs[i])
					}
					_, after, ok := strings.Cut(logs[i].String(), "elapsed=")
					d, err := time.ParseDuration(strings.Fields(after + " ")[0])
					if !ok || err != nil {
						b.Fatalf("child %d printed no elapsed time:\n%s", i, logs[i])
					}
					slowest = max(slowest, d)
				}
				rate = float64(procs*batches*1000) / slowest.Seconds()
			}
			b.ReportMetric(rate, "objects/s")
		})
	}
}

// benchWriter is the child of BenchmarkPutProcesses.
func benchWriter(t *testing.T, ctx context.Context, s *postgres.Store, seed int) {
	col := storetest.NewUUID()
	if err := s.CreateCollection(ctx, store.Collection{ID: col, Title: "bench", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	batches, _ := strconv.Atoi(os.Getenv("QUADSHARE_PG_CHILD_BATCHES"))
	startNS, _ := strconv.ParseInt(os.Getenv("QUADSHARE_PG_CHILD_START"), 10, 64)
	all := make([][]stix.Object, batches)
	for i := range all {
		all[i] = batch(t, seed*10_000_000+i*1000, 1000)
	}
	time.Sleep(time.Until(time.Unix(0, startNS)))
	start := time.Now()
	for _, objs := range all {
		if _, err := s.Put(ctx, col, "org-bench", objs); err != nil {
			t.Fatal(err)
		}
	}
	fmt.Printf("elapsed=%s\n", time.Since(start))
}
