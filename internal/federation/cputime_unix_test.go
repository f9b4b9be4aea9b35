//go:build unix

package federation_test

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time (user and system) this process has used: both nodes
// of a benchmark run in it, so it is the cost of the exchange at both ends. On a
// machine shared with other work the wall clock measures the neighbours too.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
