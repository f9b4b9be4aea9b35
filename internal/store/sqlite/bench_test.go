package sqlite

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"quadshare/internal/cputime"
	"quadshare/internal/stix"
	"quadshare/internal/store"
	"quadshare/internal/store/storetest"
)

const benchBatch = 1000

// benchObjects returns n realistic objects (about 600 bytes of JSON each) of a few
// types, every one a new object.
func benchObjects(tb testing.TB, start, n int) []stix.Object {
	objs := make([]stix.Object, n)
	types := []string{"malware", "attack-pattern", "intrusion-set", "tool"}
	for i := range objs {
		k := start + i
		if k%5 != 0 { // four in five are indicators
			objs[i] = storetest.Indicator(tb, k, "2024-06-01T12:00:00.000Z")
			continue
		}
		typ := types[(k/5)%len(types)]
		objs[i] = storetest.Obj(tb, storetest.NewID(typ), typ, "2024-06-01T12:00:00.000Z", "2024-06-01T12:00:00.000Z",
			"created_by_ref", "identity--f431f809-377b-45e0-aa1c-6a4751cae5ff",
			"name", fmt.Sprintf("Sample %s %d", typ, k),
			"description", "Seen in campaigns against operators of electricity grids and water utilities in the region; delivered through spear-phishing attachments and trojanised updates of engineering software.",
			"aliases", []string{fmt.Sprintf("ALIAS-%d", k), "GreyEnergy"},
			"object_marking_refs", []string{"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"},
			"external_references", []map[string]string{{"source_name": "mitre-attack", "external_id": fmt.Sprintf("S%04d", k%10000)}},
			"is_family", true,
		)
	}
	return objs
}

// BenchmarkPut measures Put of batches of 1,000 new objects into a file database,
// empty at the start and holding 300,000 objects at the start.
func BenchmarkPut(b *testing.B) {
	b.Run("empty", func(b *testing.B) { benchPut(b, 0) })
	b.Run("300k", func(b *testing.B) { benchPut(b, 300_000) })
}

func benchPut(b *testing.B, preload int) {
	s, err := Open(b.Context(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	col := mustCollection(b, s)
	for n := 0; n < preload/benchBatch; n++ {
		if _, err := s.Put(b.Context(), col, "bench", benchObjects(b, 1_000_000_000+n*benchBatch, benchBatch)); err != nil {
			b.Fatal(err)
		}
	}
	probe := benchObjects(b, 0, 100)
	size := 0
	for _, o := range probe {
		size += len(o.Raw)
	}
	var objects int
	var elapsed, cpu time.Duration
	for n := 0; b.Loop(); n++ {
		b.StopTimer()
		objs := benchObjects(b, n*benchBatch, benchBatch)
		runtime.GC() // the garbage of making objects is not the store's cost
		b.StartTimer()
		t0, c0 := time.Now(), cputime.Process()
		res, err := s.Put(b.Context(), col, "bench", objs)
		elapsed += time.Since(t0)
		cpu += cputime.Process() - c0
		if err != nil {
			b.Fatal(err)
		}
		if len(res) != len(objs) || res[len(res)-1].Outcome != store.Added {
			b.Fatalf("put: %d results, last %v", len(res), res[len(res)-1].Outcome)
		}
		objects += len(objs)
	}
	b.ReportMetric(float64(objects)/elapsed.Seconds(), "objects/s")
	b.ReportMetric(float64(size)/float64(len(probe)), "bytes/object")
	// On a shared machine wall time depends on the neighbours; CPU time less so.
	b.ReportMetric(float64(cpu.Microseconds())/float64(objects), "cpu-µs/object")
}

// BenchmarkQueryPage measures one page of 100 entries of one type (a fifth of them),
// after a random point of a collection, through the store alone (no HTTP): from one
// client, and from 50 at once, which is what the TAXII filtered benchmark asks of the
// reader pool. QUADSHARE_BENCH_OBJECTS sets the collection size (default 100,000):
//
//	QUADSHARE_BENCH_OBJECTS=1000000 go test -run '^$' -bench QueryPage -benchtime 2000x ./internal/store/sqlite/
func BenchmarkQueryPage(b *testing.B) {
	total := 100_000
	if v := os.Getenv("QUADSHARE_BENCH_OBJECTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 10_000 {
			b.Fatalf("QUADSHARE_BENCH_OBJECTS=%q: want an integer of at least 10000", v)
		}
		total = n
	}
	s, err := Open(b.Context(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	col := mustCollection(b, s)
	const loadBatch = 10_000
	var added []time.Time
	var ids []string // every 100th object, for the lookups by id
	for n := 0; n < total/loadBatch; n++ {
		objs := benchObjects(b, n*loadBatch, loadBatch)
		res, err := s.Put(b.Context(), col, "bench", objs)
		if err != nil {
			b.Fatal(err)
		}
		for i, r := range res {
			added = append(added, r.DateAdded)
			if i%100 == 0 {
				ids = append(ids, objs[i].ID)
			}
		}
	}
	// One object's versions by id, as GET object and versions ask (TAXII §5.6, §5.8).
	b.Run("by-id", func(b *testing.B) {
		rng := rand.New(rand.NewPCG(7, 1))
		for b.Loop() {
			id := ids[rng.IntN(len(ids))]
			p, err := s.Query(context.Background(), store.Query{Collection: col, IDs: []string{id},
				Versions: store.VersionFilter{All: true}, Limit: 100})
			if err != nil || len(p.Entries) == 0 {
				b.Fatalf("%s: %d entries, %v", id, len(p.Entries), err)
			}
		}
	})
	for _, clients := range []int{1, 50} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			var mu sync.Mutex
			var lat []time.Duration
			var next atomic.Int64
			var wg sync.WaitGroup
			c0 := cputime.Process()
			for c := range clients {
				wg.Go(func() {
					rng := rand.New(rand.NewPCG(uint64(c), 1))
					var mine []time.Duration
					for next.Add(1) <= int64(b.N) {
						after := added[rng.IntN(len(added)-benchBatch)]
						t0 := time.Now()
						p, err := s.Query(context.Background(), store.Query{Collection: col, Types: []string{"malware"}, AddedAfter: after, Limit: 100})
						mine = append(mine, time.Since(t0))
						if err != nil {
							b.Error(err)
							return
						}
						if len(p.Entries) == 0 {
							b.Errorf("empty page after %v", after)
							return
						}
					}
					mu.Lock()
					lat = append(lat, mine...)
					mu.Unlock()
				})
			}
			wg.Wait()
			if len(lat) == 0 {
				return
			}
			slices.Sort(lat)
			q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))]) / 1e6 }
			b.ReportMetric(q(0.50), "p50-ms")
			b.ReportMetric(q(0.95), "p95-ms")
			b.ReportMetric(float64((cputime.Process()-c0).Microseconds())/1000/float64(len(lat)), "cpu-ms/query")
		})
	}
}

// BenchmarkBaselineInsert is the floor that BenchmarkPut stands on: the same driver,
// file and pragmas, inserting 1,000 rows of 800 bytes per transaction into a table with
// no index, no text index and no second table.
func BenchmarkBaselineInsert(b *testing.B) {
	s, err := Open(b.Context(), filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, err := s.w.ExecContext(b.Context(), `CREATE TABLE baseline (k INTEGER PRIMARY KEY, v BLOB NOT NULL)`); err != nil {
		b.Fatal(err)
	}
	row := make([]byte, 800)
	rows := 0
	var elapsed, cpu time.Duration
	for b.Loop() {
		t0, c0 := time.Now(), cputime.Process()
		tx, err := s.w.BeginTx(b.Context(), nil)
		if err != nil {
			b.Fatal(err)
		}
		st, err := tx.PrepareContext(b.Context(), `INSERT INTO baseline (v) VALUES (?)`)
		if err != nil {
			b.Fatal(err)
		}
		for range benchBatch {
			if _, err := st.ExecContext(b.Context(), row); err != nil {
				b.Fatal(err)
			}
		}
		if err := st.Close(); err != nil {
			b.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(t0)
		cpu += cputime.Process() - c0
		rows += benchBatch
	}
	b.ReportMetric(float64(rows)/elapsed.Seconds(), "rows/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(rows), "cpu-µs/row")
}

// BenchmarkPutPages measures the pages that Puts of new objects write to the WAL,
// per object, into a store that holds QUADSHARE_BENCH_OBJECTS objects at the start
// (default 300,000), in batches of 500 (a TAXII envelope) and of 10,000 (an import).
// Each page written is copied to the WAL at the commit and to the database by the
// checkpointer: unlike CPU time, this figure does not depend on the neighbours. The
// checkpointer is stopped while measuring, so that the WAL only grows.
func BenchmarkPutPages(b *testing.B) {
	preload := 300_000
	if v := os.Getenv("QUADSHARE_BENCH_OBJECTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 10_000 {
			b.Fatalf("QUADSHARE_BENCH_OBJECTS=%q: want an integer of at least 10000", v)
		}
		preload = n
	}
	for _, batch := range []int{500, 10_000} {
		b.Run(fmt.Sprintf("batch=%d", batch), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "bench.db")
			s, err := Open(b.Context(), path)
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			col := mustCollection(b, s)
			const loadBatch = 10_000
			for n := 0; n < preload/loadBatch; n++ {
				if _, err := s.Put(b.Context(), col, "bench", benchObjects(b, 1_000_000_000+n*loadBatch, loadBatch)); err != nil {
					b.Fatal(err)
				}
			}
			if err := s.stopCheckpointer(); err != nil {
				b.Fatal(err)
			}
			if _, err := s.w.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
				b.Fatal(err)
			}
			walSize := func() int64 {
				fi, err := os.Stat(path + "-wal")
				if err != nil {
					b.Fatal(err)
				}
				return fi.Size()
			}
			var objects int
			var frames int64
			for n := 0; b.Loop(); n++ {
				b.StopTimer()
				objs := benchObjects(b, n*batch, batch)
				w0 := walSize()
				b.StartTimer()
				if _, err := s.Put(b.Context(), col, "bench", objs); err != nil {
					b.Fatal(err)
				}
				frames += (walSize() - w0) / (pageSize + 24)
				objects += batch
			}
			b.ReportMetric(float64(frames)/float64(objects), "pages/object")
		})
	}
}
