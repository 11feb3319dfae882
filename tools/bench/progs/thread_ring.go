// SPDX-License-Identifier: MIT
//
// thread_ring (benchmarks game): 503 goroutines in a ring, each receiving a
// token on its own unbuffered channel and passing it on, decremented.  The
// one that receives 0 reports its number.  ns per hop.  C twin:
// thread_ring.c.

package main

import "runtime"

const nring = 503

func worker(id int, in <-chan int, out chan<- int, done chan<- int) {
	for {
		t := <-in
		if t == 0 {
			done <- id + 1
			return
		}
		out <- t - 1
	}
}

func main() {
	hops := benchArg(1, 5000000)
	done := make(chan int)
	var ring [nring]chan int
	for i := range ring {
		ring[i] = make(chan int)
	}
	for i := 0; i < nring; i++ {
		go worker(i, ring[i], ring[(i+1)%nring], done)
	}
	t0 := benchNow()
	ring[0] <- hops
	who := <-done
	t1 := benchNow()
	if who != hops%nring+1 {
		benchFail("thread_ring", "wrong winner")
	}
	benchInfo("winner", "%d", who)
	benchInfo("nprocs", "%d", runtime.GOMAXPROCS(0))
	benchResult("thread_ring", float64(t1-t0)/float64(hops), "ns/hop")
}
