// SPDX-License-Identifier: MIT
//
// parked_mem: N (1,000,000) goroutines all blocked receiving on one channel;
// RSS growth (/proc/self/statm) over N = bytes per parked goroutine.  Then
// close the channel and wait for all to exit.  C twin: parked_mem.c.

package main

import (
	"runtime"
	"sync"
	"sync/atomic"
)

func main() {
	n := benchArg(1, 1000000)
	block := make(chan byte)
	var parked int64
	var wg sync.WaitGroup
	wg.Add(n)
	rss0 := benchRSSBytes()
	t0 := benchNow()
	for i := 0; i < n; i++ {
		go func() {
			atomic.AddInt64(&parked, 1)
			if _, ok := <-block; ok {
				benchFail("parked_mem", "recv got a value")
			}
			wg.Done()
		}()
	}
	benchProgress("parked_mem", "spawned")
	for atomic.LoadInt64(&parked) < int64(n) {
		runtime.Gosched()
	}
	for i := 0; i < 100; i++ {
		runtime.Gosched()
	}
	t1 := benchNow()
	rss1 := benchRSSBytes()
	benchProgress("parked_mem", "all parked")
	benchInfo("vm.max_map_count", "%d", benchProcLong("/proc/sys/vm/max_map_count"))
	benchInfo("maps_at_peak", "%d", benchNrMaps())
	benchInfo("rss_growth_MiB", "%.1f", float64(rss1-rss0)/1048576.0)
	benchInfo("spawn_and_park_ms", "%.1f", float64(t1-t0)/1e6)
	benchResult("parked_mem", float64(rss1-rss0)/float64(n), "B/G")
	close(block)
	wg.Wait()
	benchProgress("parked_mem", "all exited")
}
