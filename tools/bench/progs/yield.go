// SPDX-License-Identifier: MIT
//
// yield: two goroutines call runtime.Gosched() in a loop (the runner sets
// GOMAXPROCS=1).  ns per switch = elapsed / (2 * iterations).  C twin: yield.c.

package main

import (
	"runtime"
	"sync"
)

func main() {
	iters := benchArg(1, 2000000)
	var wg sync.WaitGroup
	t0 := benchNow()
	wg.Add(2)
	for j := 0; j < 2; j++ {
		go func() {
			for i := 0; i < iters; i++ {
				runtime.Gosched()
			}
			wg.Done()
		}()
	}
	wg.Wait()
	t1 := benchNow()
	benchInfo("nprocs", "%d", runtime.GOMAXPROCS(0))
	benchResult("yield", float64(t1-t0)/(2.0*float64(iters)), "ns/switch")
}
