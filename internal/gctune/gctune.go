// Package gctune sets Go's garbage collector for a long-running node.
//
// With Go's default (GOGC=100) the collector runs whenever the heap has doubled
// since the last collection. A node's live heap is small (caches of some tens of
// MiB) while every request allocates a page's worth of objects, so under load it
// collected many times a second: a tenth of the CPU of a paginated TAXII walk, and
// more of a filtered page. A node collects instead when its heap has grown five
// times (Percent), within a memory limit of a quarter of the machine's memory
// (or of its cgroup's limit), near which the collector works harder again, so
// the heap stays bounded. GOGC and GOMEMLIMIT set in the environment win.
package gctune

import (
	"bufio"
	"bytes"
	"os"
	"runtime/debug"
	"strconv"
)

// Percent is the GOGC of a node.
const Percent = 400

// ForServer sets the collector of this process for a node, where the
// environment does not.
func ForServer() {
	if _, ok := os.LookupEnv("GOGC"); !ok {
		debug.SetGCPercent(Percent)
	}
	if _, ok := os.LookupEnv("GOMEMLIMIT"); !ok {
		if m := memory(); m > 0 {
			debug.SetMemoryLimit(m / 4)
		}
	}
}

// memory is the memory this process may use: the machine's (Linux's
// /proc/meminfo), or its cgroup's limit when smaller; 0 when neither is known.
func memory() int64 {
	total := memTotal()
	if b, err := os.ReadFile("/sys/fs/cgroup/memory.max"); err == nil {
		if n, err := strconv.ParseInt(string(bytes.TrimSpace(b)), 10, 64); err == nil && n > 0 && (total == 0 || n < total) {
			total = n
		}
	}
	return total
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
