package cli

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"quadshare/internal/ingest"
	"quadshare/internal/stix/stixgen"
	"quadshare/internal/store"
)

func runBench(ctx context.Context, e *Env, args []string) error {
	if len(args) == 0 || args[0] != "ingest" {
		return fmt.Errorf("%w: quadshare bench ingest [flags]", errUsage)
	}
	fset, cf := flags(e, "bench ingest", "[flags]")
	n := fset.Int("n", 1_000_000, "synthetic objects to generate (ignored with -file)")
	file := fset.String("file", "", "ingest this STIX file instead of synthetic objects")
	seed := fset.Int64("seed", 1, "generator seed")
	batch := fset.Int("batch", 10000, "objects per transaction")
	cpuprofile := fset.String("cpuprofile", "", "write a CPU profile of the store pass to this file")
	keep := fset.Bool("keep", false, "keep the temporary data directory")
	cfg, err := parse(e, fset, cf, args[1:])
	if err != nil {
		return err
	}
	if *batch < 1 || *batch > 100_000 {
		return fmt.Errorf("%w: -batch %d: want 1 to 100000 objects per transaction", errUsage, *batch)
	}
	dir, err := os.MkdirTemp("", "quadshare-bench-")
	if err != nil {
		return err
	}
	if *keep {
		fmt.Fprintf(e.Stdout, "data kept in %s\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}

	input := *file
	if input == "" {
		input = filepath.Join(dir, "synthetic.json")
		t0 := time.Now()
		size, err := generate(input, *n, *seed)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.Stdout, "generated %d synthetic objects (%.0f MB) in %s\n", *n, float64(size)/1e6, time.Since(t0).Round(time.Millisecond))
	}
	fmt.Fprintf(e.Stdout, "machine: %d CPUs (GOMAXPROCS %d), %s/%s, %s\n", runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.GOOS, runtime.GOARCH, runtime.Version())

	// Pass 1: parse and validate only.
	s, d, err := benchPass(ctx, nil, "", input, *batch, "")
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "validate: %d objects in %s: %.0f objects/s (%d invalid)\n", s.Read, d.Round(time.Millisecond), rate(s.Read, d), s.Rejected)

	// Pass 2: parse, validate and store, into a fresh database.
	cfg.DataDir = dir
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if cfg.DB == "" {
		fmt.Fprintf(e.Stdout, "store: SQLite at %s\n", dbLocation(cfg))
	} else {
		fmt.Fprintf(e.Stdout, "store: %s\n", dbLocation(cfg))
	}
	c, err := ensureCollection(ctx, st, "default")
	if err != nil {
		return err
	}
	var peakHeap atomic.Uint64
	stop := sampleHeap(&peakHeap)
	s, d, err = benchPass(ctx, st, c.ID, input, *batch, *cpuprofile)
	stop()
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "ingest:   %d objects in %s: %.0f objects/s (%d stored, %d duplicates, %d rejected)\n", s.Read, d.Round(time.Millisecond), rate(s.Read, d), s.Added, s.Duplicates, s.Rejected)
	// A store may index text after the commit (SQLite does): a search waits for it, so
	// its time says how far the index was behind when the last object was stored.
	t0 := time.Now()
	if _, err := st.Search(ctx, store.SearchQuery{Text: "indexed", Limit: 1}); err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "search:   first search %s after the last commit\n", time.Since(t0).Round(time.Millisecond))
	fmt.Fprintf(e.Stdout, "memory:   peak Go heap %.0f MB, peak RSS %s\n", float64(peakHeap.Load())/1e6, peakRSS())
	if *cpuprofile != "" {
		fmt.Fprintf(e.Stdout, "profile:  go tool pprof -top %s\n", *cpuprofile)
	}
	return nil
}

func rate(n int, d time.Duration) float64 { return float64(n) / max(d.Seconds(), 1e-9) }

// benchPass streams input through ingest: validation only when st is nil.
func benchPass(ctx context.Context, st store.Objects, collection, input string, batch int, cpuprofile string) (ingest.Summary, time.Duration, error) {
	f, err := os.Open(input)
	if err != nil {
		return ingest.Summary{}, 0, err
	}
	defer f.Close()
	opt := ingest.Options{Collection: collection, BatchSize: batch}
	if cpuprofile != "" {
		pf, err := os.Create(cpuprofile)
		if err != nil {
			return ingest.Summary{}, 0, err
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return ingest.Summary{}, 0, err
		}
		defer pprof.StopCPUProfile()
	}
	var s ingest.Summary
	t0 := time.Now()
	err = ingest.Stream(ctx, st, input, bufio.NewReaderSize(f, 1<<20), opt, &s)
	return s, time.Since(t0), err
}

// generate writes n synthetic objects as one bundle.
func generate(path string, n int, seed int64) (int64, error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	if err := stixgen.New(seed).WriteBundle(w, n); err != nil {
		return 0, err
	}
	if err := w.Flush(); err != nil {
		return 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return fi.Size(), f.Close()
}

// sampleHeap records the largest live heap seen until stop is called.
func sampleHeap(peak *atomic.Uint64) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() { close(done); <-finished }
}

// peakRSS reads the high-water mark of resident memory (Linux only).
func peakRSS() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for line := range bytes.Lines(b) {
		if v, ok := strings.CutPrefix(string(line), "VmHWM:"); ok {
			f := strings.Fields(v)
			if kb, err := strconv.Atoi(f[0]); err == nil {
				return fmt.Sprintf("%.0f MB", float64(kb)/1e3)
			}
		}
	}
	return "unknown"
}
