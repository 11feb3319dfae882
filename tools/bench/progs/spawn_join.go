// SPDX-License-Identifier: MIT
//
// spawn_join: spawn N goroutines that do nothing and wait for all with a
// sync.WaitGroup.  ns per goroutine.  C twin: spawn_join.c.

package main

import (
	"runtime"
	"sync"
)

func main() {
	n := benchArg(1, 1000000)
	var wg sync.WaitGroup
	t0 := benchNow()
	wg.Add(n)
	for i := 0; i < n; i++ {
		go func() { wg.Done() }()
	}
	wg.Wait()
	t1 := benchNow()
	benchInfo("nprocs", "%d", runtime.GOMAXPROCS(0))
	benchResult("spawn_join", float64(t1-t0)/float64(n), "ns/G")
}
