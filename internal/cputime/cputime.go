// Package cputime reads the CPU time of this process, for benchmarks: on a
// machine shared with other work the wall clock measures the neighbours too,
// and a benchmark whose parts (two nodes, a server and its client, background
// passes) run in one process costs what they all use.
package cputime

import "time"

// Process returns the CPU time (user and system) this process has used so far;
// 0 where it is not measured.
func Process() time.Duration { return time.Duration(process()) }
