package stixgen

import (
	"bytes"
	"errors"
	"io"
	"runtime"
	"testing"

	"quadshare/internal/stix"
)

func TestGeneratedObjectsAreValid(t *testing.T) {
	g := New(1)
	types := map[string]int{}
	marked, versions := 0, 0
	seen := map[string]bool{}
	for i := 0; i < 10000; i++ {
		raw := g.Next()
		o, err := stix.Parse(raw)
		if err != nil {
			t.Fatalf("object %d does not parse: %v\n%s", i, err, raw)
		}
		types[o.Type]++
		if bytes.Contains(raw, []byte("object_marking_refs")) {
			marked++
		}
		if seen[o.ID] {
			versions++
		}
		seen[o.ID] = true
	}
	for _, typ := range []string{"indicator", "identity", "malware", "attack-pattern", "relationship", "report", "marking-definition", "ipv4-addr", "domain-name", "url"} {
		if types[typ] == 0 {
			t.Errorf("no %s generated in 10,000 objects: %v", typ, types)
		}
	}
	if marked < 1000 {
		t.Errorf("only %d objects carry TLP markings", marked)
	}
	if versions < 100 {
		t.Errorf("only %d new versions of earlier objects", versions)
	}
	t.Logf("mix: %v, marked %d, new versions %d", types, marked, versions)
}

func TestDeterministic(t *testing.T) {
	a, b, c := New(7), New(7), New(8)
	differ := false
	for i := 0; i < 2000; i++ {
		x, y, z := a.Next(), b.Next(), c.Next()
		if !bytes.Equal(x, y) {
			t.Fatalf("object %d differs for the same seed:\n%s\n%s", i, x, y)
		}
		if !bytes.Equal(x, z) {
			differ = true
		}
	}
	if !differ {
		t.Error("seeds 7 and 8 generate the same objects")
	}
}

func TestWriteBundleStreams(t *testing.T) {
	var buf bytes.Buffer
	if err := New(3).WriteBundle(&buf, 500); err != nil {
		t.Fatal(err)
	}
	r := stix.NewReader(&buf)
	n := 0
	for {
		raw, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("after %d objects: %v", n, err)
		}
		if _, err := stix.Parse(raw); err != nil {
			t.Fatalf("object %d: %v", n, err)
		}
		n++
	}
	if n != 500 {
		t.Fatalf("read %d objects from a bundle of 500", n)
	}
}

func BenchmarkNext(b *testing.B) {
	g := New(1)
	size := 0
	for b.Loop() {
		size += len(g.Next())
	}
	b.SetBytes(int64(size / max(b.N, 1)))
}

// The generator remembers a bounded window: its heap does not grow with the
// number of objects generated.
func TestConstantMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	g := New(5)
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	for i := 0; i < 50_000; i++ {
		g.Next()
	}
	before := heap()
	for i := 0; i < 250_000; i++ {
		g.Next()
	}
	after := heap()
	if after > before+1<<20 {
		t.Errorf("heap grew from %d to %d bytes over 250,000 objects", before, after)
	}
}
