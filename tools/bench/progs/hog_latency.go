// SPDX-License-Identifier: MIT
//
// hog_latency: one goroutine per P computes in a loop without calls (a
// hog) while a ticker goroutine sleeps 1 ms, N times.  RESULT: the worst
// wake-up delay (ms past 1 ms); INFO: p99 and median.  C twin:
// hog_latency.c (hog_latency_2 is the same program at GOMAXPROCS=2).

package main

import (
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync/atomic"
	"time"
)

var sink uint64

func main() {
	name := filepath.Base(os.Args[0])
	ticks := benchArg(1, 2000)
	hogs := runtime.GOMAXPROCS(0)
	var stop, running int32
	for i := 0; i < hogs; i++ {
		atomic.AddInt32(&running, 1)
		go func() {
			x := uint64(0)
			for atomic.LoadInt32(&stop) == 0 {
				x++
			}
			sink += x
			atomic.AddInt32(&running, -1)
		}()
	}
	delays := make([]int64, ticks)
	for i := 0; i < ticks; i++ {
		t0 := benchNow()
		time.Sleep(time.Millisecond)
		delays[i] = benchNow() - t0 - 1000000
	}
	atomic.StoreInt32(&stop, 1)
	for atomic.LoadInt32(&running) > 0 {
		time.Sleep(time.Millisecond)
	}
	sort.Slice(delays, func(a, b int) bool { return delays[a] < delays[b] })
	benchInfo("nprocs", "%d (one hog per P)", hogs)
	benchInfo("p99", "%.2f ms", float64(delays[ticks*99/100])/1e6)
	benchInfo("median", "%.3f ms", float64(delays[ticks/2])/1e6)
	benchResult(name, float64(delays[ticks-1])/1e6, "ms")
}
