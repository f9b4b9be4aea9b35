package sqlite

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"quadshare/internal/stix"
	"quadshare/internal/store"
	"quadshare/internal/store/storetest"
)

// The crash test runs this test binary again as a child that imports into a database
// until it is killed. These variables tell the child what to do.
const (
	crashDBEnv  = "QUADSHARE_CRASH_DB"
	crashColEnv = "QUADSHARE_CRASH_COLLECTION"
	crashBatch  = 250
)

// crashObject is object i of batch n: the parent can rebuild every id the child sent.
func crashObject(t testing.TB, n, i int) stix.Object {
	sum := sha256.Sum256([]byte(fmt.Sprintf("crash %d %d", n, i)))
	h := hex.EncodeToString(sum[:16])
	id := "indicator--" + h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-8" + h[17:20] + "-" + h[20:32]
	o := storetest.Indicator(t, n*crashBatch+i, "2024-05-01T10:00:00.000Z")
	fresh := o.ID
	o.ID = id
	o.Raw = []byte(strings.Replace(string(o.Raw), fresh, id, 1))
	return o
}

// TestCrashChild is the child side; it does nothing in a normal run.
func TestCrashChild(t *testing.T) {
	path, col := os.Getenv(crashDBEnv), os.Getenv(crashColEnv)
	if path == "" || col == "" {
		t.Skip("only run as the child of TestCrashDurability")
	}
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("child open: %v", err)
	}
	deadline := time.Now().Add(2 * time.Minute) // never outlive a parent that died
	for n := 0; n < 10000 && time.Now().Before(deadline); n++ {
		objs := make([]stix.Object, crashBatch)
		for i := range objs {
			objs[i] = crashObject(t, n, i)
		}
		if _, err := s.Put(t.Context(), col, "crash", objs); err != nil {
			t.Fatalf("child put %d: %v", n, err)
		}
		// One write per line: the parent counts a batch once this line is out.
		if _, err := fmt.Fprintf(os.Stdout, "done %d\n", n); err != nil {
			t.Fatalf("child: %v", err)
		}
	}
	t.Fatalf("child was never killed")
}

// TestCrashDurability kills an importing process with SIGKILL at random points and
// checks that the database is sound and holds every batch whose Put returned.
func TestCrashDurability(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	if os.Getenv(crashDBEnv) != "" {
		t.Skip("in the child")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for run := range 4 {
		path := fmt.Sprintf("%s/crash-%d.db", t.TempDir(), run)
		s, err := Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		col := mustCollection(t, s)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}

		cmd := exec.CommandContext(t.Context(), exe, "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashDBEnv+"="+path, crashColEnv+"="+col)
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		killAfter := 2 + rand.IntN(8) // acknowledged batches before the kill
		acked := -1
		sc := bufio.NewScanner(out)
		killed := false
		for sc.Scan() {
			n, ok := strings.CutPrefix(sc.Text(), "done ")
			if !ok {
				continue // the test framework's own lines
			}
			v, err := strconv.Atoi(n)
			if err != nil || v != acked+1 {
				t.Fatalf("run %d: child said %q after %d", run, sc.Text(), acked)
			}
			acked = v
			if !killed && acked+1 >= killAfter {
				// Land the kill inside the next Put, at a random moment of it.
				time.Sleep(time.Duration(rand.IntN(4000)) * time.Microsecond)
				if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatalf("kill: %v", err)
				}
				killed = true
				// Keep reading: lines already written were acknowledged too.
			}
		}
		err = cmd.Wait()
		if !killed {
			t.Fatalf("run %d: child ended before the kill: %v", run, err)
		}
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("run %d: child did not die of SIGKILL: %v", run, err)
		}

		s, err = Open(t.Context(), path)
		if err != nil {
			t.Fatalf("run %d: reopen after kill: %v", run, err)
		}
		if r, err := s.IntegrityCheck(t.Context()); err != nil || r != "ok" {
			t.Fatalf("run %d: integrity check: %q, %v", run, r, err)
		}
		n, err := s.Count(t.Context(), col)
		if err != nil {
			t.Fatal(err)
		}
		// Every acknowledged batch is there; the batch in flight is all there or absent.
		want := (acked + 1) * crashBatch
		if n != want && n != want+crashBatch {
			t.Fatalf("run %d: %d entries after %d acknowledged batches of %d", run, n, acked+1, crashBatch)
		}
		for b := 0; b <= acked; b++ {
			at := []int{0, crashBatch / 2, crashBatch - 1}
			ids := make([]string, len(at))
			for k, i := range at {
				ids[k] = crashObject(t, b, i).ID
			}
			p, err := s.Query(t.Context(), store.Query{Collection: col, IDs: ids, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Entries) != len(ids) {
				t.Fatalf("run %d: batch %d: %d of %d spot-checked objects found", run, b, len(p.Entries), len(ids))
			}
			for _, e := range p.Entries {
				k := slices.Index(ids, e.Object.ID)
				if k < 0 {
					t.Fatalf("run %d: batch %d: unexpected object %s", run, b, e.Object.ID)
				}
				if want := crashObject(t, b, at[k]); string(e.Object.Raw) != string(want.Raw) {
					t.Fatalf("run %d: batch %d: object %s differs after the crash", run, b, e.Object.ID)
				}
			}
		}
		t.Logf("run %d: killed after %d acknowledged batches; %d entries survive", run, acked+1, n)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
