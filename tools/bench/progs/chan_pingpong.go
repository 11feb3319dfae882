// SPDX-License-Identifier: MIT
//
// chan_pingpong: main sends on unbuffered "ping", a goroutine echoes on
// "pong".  ns per round trip.  Default GOMAXPROCS.  C twin: chan_pingpong.c.

package main

import "runtime"

func main() {
	iters := benchArg(1, 500000)
	ping := make(chan int64)
	pong := make(chan int64)
	go func() {
		for v := range ping {
			pong <- v + 1
		}
	}()
	var v int64
	t0 := benchNow()
	for i := 0; i < iters; i++ {
		ping <- v
		v = <-pong
	}
	t1 := benchNow()
	if v != int64(iters) {
		benchFail("chan_pingpong", "wrong count")
	}
	close(ping)
	benchInfo("nprocs", "%d", runtime.GOMAXPROCS(0))
	benchResult("chan_pingpong", float64(t1-t0)/float64(iters), "ns/rtt")
}
