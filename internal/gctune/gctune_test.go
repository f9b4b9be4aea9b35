package gctune

import (
	"math"
	"os"
	"path/filepath"
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
	undo := ForServer()
	if p := debug.SetGCPercent(100); p != Percent {
		t.Errorf("GOGC %d, want %d", p, Percent)
	}
	limit := debug.SetMemoryLimit(math.MaxInt64)
	want := memoryLimit(memTotal(), cgroupLimit("/proc/self/cgroup", "/sys/fs/cgroup"))
	if runtime.GOOS == "linux" && (limit <= 0 || limit == math.MaxInt64 || limit != want) {
		t.Errorf("memory limit %d, want %d", limit, want)
	}
	// undo puts back what ForServer found, whatever came after.
	debug.SetGCPercent(777)
	debug.SetMemoryLimit(12345 << 20)
	undo()
	if p, l := debug.SetGCPercent(100), debug.SetMemoryLimit(-1); p != 100 || l != math.MaxInt64 {
		t.Errorf("after undo: GOGC %d, memory limit %d; want 100 and %d", p, l, int64(math.MaxInt64))
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

func TestMemTotal(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/meminfo")
	}
	if m := memTotal(); m < 64<<20 {
		t.Fatalf("MemTotal %d", m)
	}
}

func TestMemoryLimit(t *testing.T) {
	const gib = int64(1) << 30
	tests := []struct{ machine, cgroup, want int64 }{
		{24 * gib, 0, 6 * gib},        // a quarter of the machine
		{24 * gib, 1 << 62, 6 * gib},  // cgroup v1's unlimited
		{24 * gib, gib, 768 << 20},    // a small container: three quarters of it
		{24 * gib, 16 * gib, 6 * gib}, // a large one: still a quarter of the machine
		{0, 4 * gib, 3 * gib},         // the machine unknown
		{0, 0, 0},                     // nothing known: no limit
	}
	for _, tt := range tests {
		if got := memoryLimit(tt.machine, tt.cgroup); got != tt.want {
			t.Errorf("memoryLimit(%d, %d) = %d, want %d", tt.machine, tt.cgroup, got, tt.want)
		}
	}
}

// TestCgroupLimit reads limits from cgroup file systems laid out in a directory:
// v2 and v1, on the process's group and on a group above it, unlimited, and a
// group path that names the host's hierarchy where the container sees its own root.
func TestCgroupLimit(t *testing.T) {
	tests := []struct {
		name  string
		proc  string
		files map[string]string // under the cgroup file system's root
		want  int64
	}{
		{"v2, the group's own", "0::/system.slice/q.service\n", map[string]string{
			"system.slice/q.service/memory.max": "536870912\n", "system.slice/memory.max": "max\n"}, 512 << 20},
		{"v2, a parent's", "0::/system.slice/q.service\n", map[string]string{
			"system.slice/q.service/memory.max": "max\n", "system.slice/memory.max": "268435456\n"}, 256 << 20},
		{"v2, unlimited", "0::/\n", map[string]string{"memory.max": "max\n"}, 0},
		{"v1, in a container", "4:memory:/host/path/abc\n3:cpu:/\n0::/\n", map[string]string{
			"memory/memory.limit_in_bytes": "1073741824\n"}, 1 << 30},
		{"v1, combined controllers", "5:memory,hugetlb:/g\n", map[string]string{
			"memory/g/memory.limit_in_bytes": "9223372036854771712\n", "memory/memory.limit_in_bytes": "2147483648\n"}, 2 << 30},
		{"no memory controller", "3:cpu:/\n", map[string]string{"memory.max": "1024\n"}, 0},
		{"garbage", "not a cgroup file\n::\n", map[string]string{"memory.max": "lots\n"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			proc := filepath.Join(dir, "cgroup")
			if err := os.WriteFile(proc, []byte(tt.proc), 0o600); err != nil {
				t.Fatal(err)
			}
			sys := filepath.Join(dir, "sys")
			for name, content := range tt.files {
				path := filepath.Join(sys, name)
				if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if got := cgroupLimit(proc, sys); got != tt.want {
				t.Errorf("cgroupLimit = %d, want %d", got, tt.want)
			}
		})
	}
	if got := cgroupLimit(filepath.Join(t.TempDir(), "none"), "/nonexistent"); got != 0 {
		t.Errorf("without /proc: %d", got)
	}
}
