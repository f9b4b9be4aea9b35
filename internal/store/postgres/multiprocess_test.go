package postgres_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
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

// Child processes of TestMultiProcess are this test binary run again with
// -test.run=^TestMultiProcessChild$ and these variables set.
const (
	envRole       = "QUADSHARE_PG_CHILD_ROLE" // "writer" or "pager"
	envURL        = "QUADSHARE_PG_CHILD_URL"
	envCollection = "QUADSHARE_PG_CHILD_COLLECTION"
	envOut        = "QUADSHARE_PG_CHILD_OUT"  // file the child writes ids to, one a line
	envDone       = "QUADSHARE_PG_CHILD_DONE" // the pager stops once this file exists and it has caught up
	envSeed       = "QUADSHARE_PG_CHILD_SEED"
)

// TestMultiProcess checks that date_added stays gap-free across processes: three
// writer processes add objects in batches of varying size (so their transactions take
// varying time and commit in every interleaving) while a fourth process pages through
// the collection with an exclusive AddedAfter cursor and no upper bound, as a TAXII
// client polling for news does. If any entry became visible after an entry with a
// later date_added, the pager would already have paged past it and miss it. The
// pager must see every object exactly once, in strictly ascending date_added.
func TestMultiProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes; skipped with -short")
	}
	url := pgtest.NewDatabase(t)
	s, err := postgres.Open(t.Context(), pgtest.WithPoolSize(url, 2))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	col := storetest.NewUUID()
	if err := s.CreateCollection(t.Context(), store.Collection{ID: col, Title: "multi-process", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	done := filepath.Join(dir, "done")
	start := func(role string, n int) (*exec.Cmd, string, *strings.Builder) {
		out := filepath.Join(dir, fmt.Sprintf("%s-%d", role, n))
		cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestMultiProcessChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), envRole+"="+role, envURL+"="+url, envCollection+"="+col,
			envOut+"="+out, envDone+"="+done, envSeed+"="+strconv.Itoa(n))
		var log strings.Builder
		cmd.Stdout, cmd.Stderr = &log, &log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, out, &log
	}
	pager, pagerOut, pagerLog := start("pager", 0)
	var written []string
	type writer struct {
		cmd *exec.Cmd
		out string
		log *strings.Builder
	}
	var writers []writer
	for i := range 3 {
		cmd, out, log := start("writer", i+1)
		writers = append(writers, writer{cmd, out, log})
	}
	for i, w := range writers {
		if err := w.cmd.Wait(); err != nil {
			t.Fatalf("writer %d: %v\n%s", i, err, w.log)
		}
		written = append(written, readLines(t, w.out)...)
	}
	if err := os.WriteFile(done, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := pager.Wait(); err != nil {
		t.Fatalf("pager: %v\n%s", err, pagerLog)
	}
	seen := map[string]int{}
	for _, id := range readLines(t, pagerOut) {
		seen[id]++
	}
	if len(written) < 1000 {
		t.Fatalf("only %d objects written", len(written))
	}
	for _, id := range written {
		if seen[id] != 1 {
			t.Fatalf("object %s written, seen %d times by the pager", id, seen[id])
		}
		delete(seen, id)
	}
	for id := range seen {
		t.Fatalf("the pager saw %s, which no writer wrote", id)
	}
	t.Logf("3 writers wrote %d objects; the pager saw each exactly once\n%s", len(written), pagerLog)
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(b))
}

// TestMultiProcessChild is a writer or the pager of TestMultiProcess; on its own it
// does nothing.
func TestMultiProcessChild(t *testing.T) {
	role := os.Getenv(envRole)
	if role == "" {
		t.Skip("child process of TestMultiProcess")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	s, err := postgres.Open(ctx, pgtest.WithPoolSize(os.Getenv(envURL), 2), postgres.WithoutAutoMigrate())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	col := os.Getenv(envCollection)
	f, err := os.Create(os.Getenv(envOut))
	if err != nil {
		t.Fatal(err)
	}
	out := bufio.NewWriter(f)
	defer func() {
		if err := out.Flush(); err != nil {
			t.Error(err)
		}
		if err := f.Close(); err != nil {
			t.Error(err)
		}
	}()
	seed, _ := strconv.Atoi(os.Getenv(envSeed))
	switch role {
	case "writer":
		rng := rand.New(rand.NewPCG(uint64(seed), uint64(time.Now().UnixNano())))
		for b := range 120 {
			objs := make([]stix.Object, 1+rng.IntN(25))
			for i := range objs {
				objs[i] = storetest.Indicator(t, seed*1_000_000+b*100+i, "2024-01-01T00:00:00.000Z")
			}
			if _, err := s.Put(ctx, col, fmt.Sprint("org-", seed), objs); err != nil {
				t.Fatal(err)
			}
			for _, o := range objs {
				fmt.Fprintln(out, o.ID)
			}
			time.Sleep(time.Duration(rng.IntN(1500)) * time.Microsecond)
		}
	case "pager":
		var after time.Time
		pages, entries := 0, 0
		for {
			finished := fileExists(os.Getenv(envDone)) // read before the page: then the page holds everything
			p, err := s.Query(ctx, store.Query{Collection: col, AddedAfter: after, Limit: 13})
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, e := range p.Entries {
				if !e.DateAdded.After(after) {
					t.Fatalf("date_added %v not after the cursor %v", e.DateAdded, after)
				}
				after = e.DateAdded
				fmt.Fprintln(out, e.Object.ID)
				entries++
			}
			if !p.More {
				if finished {
					break
				}
				time.Sleep(200 * time.Microsecond)
			}
		}
		fmt.Printf("pager: %d pages, %d entries\n", pages, entries)
	case "bench-writer":
		benchWriter(t, ctx, s, seed)
	default:
		t.Fatalf("unknown role %q", role)
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
