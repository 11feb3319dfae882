// SPDX-License-Identifier: MIT
//
// spawn_churn_*: N goroutines each send one value on a channel of capacity
// LIVE while the spawner receives; the spawner first starts 2*LIVE (LIVE
// fill the buffer, LIVE block sending), then receives one and spawns one,
// so LIVE goroutines are alive at every moment.  ns per goroutine; INFO
// page faults per spawn in the steady state (getrusage, second half of the
// spawns after the first 2*LIVE).  C twin: spawn_churn.c.

package main

import (
	"os"
	"path/filepath"
	"runtime"
	"syscall"
)

func faults() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Minflt + ru.Majflt
}

func main() {
	name := filepath.Base(os.Args[0])
	n := benchArg(1, 500000)
	live := benchArg(2, 1024)
	if n < 4*live {
		benchFail(name, "N must be at least 4*LIVE")
	}
	ch := make(chan int, live)
	steady0 := 2*live + (n-2*live)/2
	var sum, want, f0 int64
	t0 := benchNow()
	for i := 0; i < n; i++ {
		if i == steady0 {
			f0 = faults()
		}
		if i >= 2*live {
			sum += int64(<-ch)
		}
		go func(v int) { ch <- v }(i)
		want += int64(i)
	}
	f1 := faults()
	for i := 0; i < 2*live; i++ {
		sum += int64(<-ch)
	}
	t1 := benchNow()
	if sum != want {
		benchFail(name, "sum")
	}
	benchInfo("faults_per_spawn", "%.4f (%d over %d steady-state spawns)",
		float64(f1-f0)/float64(n-steady0), f1-f0, n-steady0)
	benchInfo("rss_MiB", "%.1f", float64(benchRSSBytes())/1048576.0)
	benchInfo("nprocs", "%d", runtime.GOMAXPROCS(0))
	benchResult(name, float64(t1-t0)/float64(n), "ns/G")
}
