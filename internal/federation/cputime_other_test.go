//go:build !unix

package federation_test

import "time"

// cpuTime is not measured here; the benchmarks then report wall-clock figures only.
func cpuTime() time.Duration { return 0 }
