// Package par runs independent steps on every CPU.
package par

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// Each calls fn(i) for every i in [0, n), on as many CPUs as there are groups of
// per steps (all on the caller's goroutine when there is one), and returns when
// all calls have returned. A panic in fn is raised again on the caller's
// goroutine, where its recovery (a server's, for one request) can catch it: on
// another goroutine it would end the process.
func Each(n, per int, fn func(i int)) {
	workers := min(runtime.GOMAXPROCS(0), (n+per-1)/max(per, 1))
	if workers <= 1 {
		for i := range n {
			fn(i)
		}
		return
	}
	var wg sync.WaitGroup
	var next atomic.Int64
	var panicked atomic.Pointer[any]
	for range workers {
		wg.Go(func() {
			defer func() {
				if v := recover(); v != nil {
					panicked.CompareAndSwap(nil, &v)
					next.Store(int64(n)) // the others stop early
				}
			}()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				fn(i)
			}
		})
	}
	wg.Wait()
	if v := panicked.Load(); v != nil {
		panic(*v)
	}
}
