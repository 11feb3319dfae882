// SPDX-License-Identifier: MIT
//
// timers: N goroutines each sleep a random 1-10 ms in a loop for a fixed
// wall time; CPU time (getrusage, all threads) per timer fire during that
// window.  C twin: timers.c.

package main

import (
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func cpuNs() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return (ru.Utime.Sec+ru.Stime.Sec)*1e9 + (ru.Utime.Usec+ru.Stime.Usec)*1e3
}

func main() {
	ngs := benchArg(1, 100000)
	wallMs := benchArg(2, 2000)
	fires := make([]int64, ngs)
	var stop int32
	var wg sync.WaitGroup
	wg.Add(ngs)
	for i := 0; i < ngs; i++ {
		go func(id int) {
			x := uint32(id)*2654435761 | 1
			for atomic.LoadInt32(&stop) == 0 {
				x ^= x << 13
				x ^= x >> 17
				x ^= x << 5
				time.Sleep(time.Duration(1000000 + x%9000000))
				atomic.AddInt64(&fires[id], 1)
			}
			wg.Done()
		}(i)
	}
	total := func() int64 {
		s := int64(0)
		for i := range fires {
			s += atomic.LoadInt64(&fires[i])
		}
		return s
	}
	time.Sleep(20 * time.Millisecond)
	t0 := benchNow()
	c0 := cpuNs()
	f0 := total()
	time.Sleep(time.Duration(wallMs) * time.Millisecond)
	f1 := total()
	c1 := cpuNs()
	t1 := benchNow()
	atomic.StoreInt32(&stop, 1)
	wg.Wait()
	if f1 <= f0 {
		benchFail("timers", "no timer fired")
	}
	benchInfo("fires_per_s", "%.0f", float64(f1-f0)*1e9/float64(t1-t0))
	benchInfo("cpu_util", "%.2f", float64(c1-c0)/float64(t1-t0))
	benchInfo("nprocs", "%d", runtime.GOMAXPROCS(0))
	benchResult("timers", float64(c1-c0)/float64(f1-f0), "cpu-ns/fire")
}
