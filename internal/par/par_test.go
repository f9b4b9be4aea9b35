package par

import (
	"runtime"
	"sync/atomic"
	"testing"
)

func TestEachCallsEveryIndexOnce(t *testing.T) {
	for _, n := range []int{0, 1, 7, 1000} {
		calls := make([]atomic.Int32, n)
		Each(n, 3, func(i int) { calls[i].Add(1) })
		for i := range calls {
			if c := calls[i].Load(); c != 1 {
				t.Fatalf("n=%d: fn(%d) called %d times", n, i, c)
			}
		}
	}
}

// A panic in a worker reaches the caller, where a recover can catch it, instead of
// ending the process.
func TestEachPanicReachesCaller(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	}
	defer func() {
		if v := recover(); v != "boom at 500" {
			t.Fatalf("recovered %v; want the worker's panic", v)
		}
	}()
	Each(1000, 10, func(i int) {
		if i == 500 {
			panic("boom at 500")
		}
	})
	t.Fatal("Each returned after a panic")
}
