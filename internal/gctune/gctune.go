// Package gctune sets Go's garbage collector for a long-running node.
//
// With Go's default (GOGC=100) the collector runs whenever the heap has doubled
// since the last collection. A node's live heap is small (caches of some tens of
// MiB) while every request allocates a page's worth of objects, so under load it
// collected many times a second: a tenth of the CPU of a paginated TAXII walk, and
// more of a filtered page. A node collects instead when its heap has grown five
// times (Percent), within a memory limit (memoryLimit), near which the collector
// works harder again, so the heap stays bounded. GOGC and GOMEMLIMIT set in the
// environment win.
package gctune

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
)

// Percent is the GOGC of a node.
const Percent = 400

// ForServer sets the collector of this process for a node, where the
// environment does not. Undo puts back the settings it found (for a benchmark
// among tests).
func ForServer() (undo func()) {
	percent := debug.SetGCPercent(100)
	debug.SetGCPercent(percent)
	limit := debug.SetMemoryLimit(-1) // a negative limit only reads it
	undo = func() { debug.SetGCPercent(percent); debug.SetMemoryLimit(limit) }
	if _, ok := os.LookupEnv("GOGC"); !ok {
		debug.SetGCPercent(Percent)
	}
	if _, ok := os.LookupEnv("GOMEMLIMIT"); !ok {
		if m := memoryLimit(memTotal(), cgroupLimit("/proc/self/cgroup", "/sys/fs/cgroup")); m > 0 {
			debug.SetMemoryLimit(m)
		}
	}
	return undo
}

// memoryLimit is the memory limit of a node on a machine of the given memory, in a
// cgroup of the given limit (0 when unknown): a quarter of the machine, which
// other services may share (PostgreSQL, say), but no more than three quarters of
// the cgroup's limit, past which the process would be killed rather than slowed.
func memoryLimit(machine, cgroup int64) int64 {
	switch {
	case cgroup <= 0:
		return machine / 4
	case machine <= 0:
		return cgroup / 4 * 3
	}
	return min(machine/4, cgroup/4*3)
}

// cgroupLimit is the smallest memory limit of this process's cgroups (Linux),
// read from the cgroup file of /proc (proc) and the cgroup file systems under
// sys: cgroup v2's memory.max and v1's memory.limit_in_bytes, of the process's
// group and of each group above it (a limit set on a parent, as systemd's
// MemoryMax= on a slice, binds too). 0 when none is known.
func cgroupLimit(proc, sys string) int64 {
	b, err := os.ReadFile(proc)
	if err != nil {
		return 0
	}
	var limit int64
	for line := range strings.Lines(string(b)) {
		// hierarchy-ID:controller-list:cgroup-path
		parts := strings.SplitN(strings.TrimSpace(line), ":", 3)
		if len(parts) != 3 {
			continue
		}
		var dir, file string
		switch {
		case parts[0] == "0" && parts[1] == "":
			dir, file = sys, "memory.max"
		case slices.Contains(strings.Split(parts[1], ","), "memory"):
			dir, file = filepath.Join(sys, "memory"), "memory.limit_in_bytes"
		default:
			continue
		}
		// From the group up to the root of the file system, which in a container
		// is the container's own group (the path names the host's).
		for p := filepath.Clean("/" + parts[2]); ; p = filepath.Dir(p) {
			if n := readLimit(filepath.Join(dir, p, file)); n > 0 && (limit == 0 || n < limit) {
				limit = n
			}
			if p == "/" {
				break
			}
		}
	}
	return limit
}

// readLimit reads a limit in bytes from a cgroup file; 0 for "max" (v2's
// unlimited) or when unreadable. v1's unlimited is a number near 2^63, which
// never wins against the machine's memory.
func readLimit(path string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	n, err := strconv.ParseInt(string(bytes.TrimSpace(b)), 10, 64)
	if err != nil || n <= 0 {
		return 0
	}
	return n
}

// memTotal is MemTotal of /proc/meminfo in bytes, or 0.
func memTotal() int64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := bytes.CutPrefix(sc.Bytes(), []byte("MemTotal:"))
		if !ok {
			continue
		}
		kb, ok := bytes.CutSuffix(bytes.TrimSpace(rest), []byte(" kB"))
		if n, err := strconv.ParseInt(string(kb), 10, 64); ok && err == nil && n > 0 {
			return n << 10
		}
		return 0
	}
	return 0
}
