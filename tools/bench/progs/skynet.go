// SPDX-License-Identifier: MIT
//
// skynet: the classic benchmark.  Each goroutine spawns 10 children down to
// 1,000,000 leaves; children send their sums on an unbuffered channel.  Time
// in ms; the sum must be 499999500000.  C twin: skynet.c.

package main

import (
	"fmt"
	"runtime"
)

func skynet(c chan int64, num int64, size int64, div int64) {
	if size == 1 {
		c <- num
		return
	}
	rc := make(chan int64)
	var sum int64
	for i := int64(0); i < div; i++ {
		go skynet(rc, num+i*(size/div), size/div, div)
	}
	for i := int64(0); i < div; i++ {
		sum += <-rc
	}
	c <- sum
}

func main() {
	leaves := int64(benchArg(1, 1000000))
	want := leaves * (leaves - 1) / 2
	c := make(chan int64)
	t0 := benchNow()
	go skynet(c, 0, leaves, 10)
	sum := <-c
	t1 := benchNow()
	benchInfo("sum", "%d", sum)
	if sum != want {
		benchFail("skynet", fmt.Sprintf("sum %d, want %d", sum, want))
	}
	benchInfo("nprocs", "%d", runtime.GOMAXPROCS(0))
	benchResult("skynet", float64(t1-t0)/1e6, "ms")
}
