// SPDX-License-Identifier: MIT
//
// mutex: 8 goroutines each lock, increment a shared counter and unlock N
// times on one sync.Mutex, after a common start gate.  ns per lock/unlock
// pair.  C twin: mutex.c.

package main

import (
	"runtime"
	"sync"
)

const ng = 8

func main() {
	iters := benchArg(1, 200000)
	var mu sync.Mutex
	var wg sync.WaitGroup
	counter := 0
	gate := make(chan struct{})
	wg.Add(ng)
	for i := 0; i < ng; i++ {
		go func() {
			<-gate
			for j := 0; j < iters; j++ {
				mu.Lock()
				counter++
				mu.Unlock()
			}
			wg.Done()
		}()
	}
	t0 := benchNow()
	close(gate)
	wg.Wait()
	t1 := benchNow()
	if counter != ng*iters {
		benchFail("mutex", "lost increments")
	}
	benchInfo("nprocs", "%d", runtime.GOMAXPROCS(0))
	benchResult("mutex", float64(t1-t0)/float64(ng*iters), "ns/op")
}
