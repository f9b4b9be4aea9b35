//go:build unix

package stix

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time (user and system) this process has used. The
// benchmarks report objects per CPU-second beside objects per second, because on
// a machine shared with other work the wall clock measures the neighbours too.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
