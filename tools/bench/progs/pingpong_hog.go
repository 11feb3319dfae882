// SPDX-License-Identifier: MIT
//
// pingpong_hog: Go's BenchmarkPingPongHog (runtime/proc_test.go) as a
// program: at GOMAXPROCS=1 a goroutine polls a channel with select/default
// in a loop beside two goroutines that ping-pong N times.  ns per round
// trip.  C twin: pingpong_hog.c.

package main

import "runtime"

func main() {
	n := benchArg(1, 10000)
	stop, done := make(chan bool), make(chan bool)
	go func() {
		for {
			select {
			case <-stop:
				done <- true
				return
			default:
			}
		}
	}()
	ping, pong := make(chan bool), make(chan bool)
	go func() {
		for j := 0; j < n; j++ {
			pong <- <-ping
		}
		close(stop)
		done <- true
	}()
	go func() {
		for i := 0; i < n; i++ {
			ping <- <-pong
		}
		done <- true
	}()
	t0 := benchNow()
	ping <- true
	<-stop
	t1 := benchNow()
	<-ping
	<-done
	<-done
	<-done
	benchInfo("nprocs", "%d", runtime.GOMAXPROCS(0))
	benchResult("pingpong_hog", float64(t1-t0)/float64(n), "ns/rtt")
}
