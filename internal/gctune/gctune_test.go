package gctune

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"testing"
)

// restore puts the collector's settings back after a test changed them.
func restore(t *testing.T) {
	percent, limit := debug.SetGCPercent(100), debug.SetMemoryLimit(-1) // a negative limit only reads it
	t.Cleanup(func() { debug.SetGCPercent(percent); debug.SetMemoryLimit(limit) })
}

func TestForServer(t *testing.T) {
	restore(t)
	unset(t, "GOGC", "GOMEMLIMIT")
	debug.SetGCPercent(100)
	debug.SetMemoryLimit(math.MaxInt64)
	ForServer()
	if p := debug.SetGCPercent(100); p != Percent {
		t.Errorf("GOGC %d, want %d", p, Percent)
	}
	limit := debug.SetMemoryLimit(math.MaxInt64)
	if runtime.GOOS == "linux" && (limit <= 0 || limit == math.MaxInt64 || limit != memory()/4) {
		t.Errorf("memory limit %d, want a quarter of %d", limit, memory())
	}
}

// unset removes environment variables for the test; t.Setenv puts them back.
func unset(t *testing.T, names ...string) {
	for _, n := range names {
		t.Setenv(n, "")
		if err := os.Unsetenv(n); err != nil {
			t.Fatal(err)
		}
	}
}

func TestEnvironmentWins(t *testing.T) {
	restore(t)
	t.Setenv("GOGC", "100")
	t.Setenv("GOMEMLIMIT", "off")
	debug.SetGCPercent(100)
	debug.SetMemoryLimit(math.MaxInt64)
	ForServer()
	if p := debug.SetGCPercent(100); p != 100 {
		t.Errorf("GOGC %d with GOGC=100 in the environment", p)
	}
	if l := debug.SetMemoryLimit(math.MaxInt64); l != math.MaxInt64 {
		t.Errorf("memory limit %d with GOMEMLIMIT=off in the environment", l)
	}
}

func TestMemory(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/meminfo")
	}
	if m := memory(); m < 64<<20 || m > memTotal() {
		t.Fatalf("memory %d, machine %d", m, memTotal())
	}
}
