// SPDX-License-Identifier: MIT
//
// chameneos (benchmarks game, chameneos-redux): three creatures meet N times
// through a broker goroutine; see chameneos.c for the protocol.  ns per
// meeting.  C twin: chameneos.c.

package main

import (
	"runtime"
	"sync"
)

const (
	blue   = 0
	red    = 1
	yellow = 2
	faded  = -1
)

type request struct {
	colour int
	reply  chan int
}

func complement(a, b int) int {
	if a == b {
		return a
	}
	return 3 - a - b
}

func main() {
	n := benchArg(1, 1000000)
	meeting := make(chan request)
	var wg sync.WaitGroup
	var meetings [3]int
	t0 := benchNow()
	wg.Add(3)
	go func() {
		for i := 0; i < n; i++ {
			a := <-meeting
			b := <-meeting
			a.reply <- b.colour
			b.reply <- a.colour
		}
		for i := 0; i < 3; i++ {
			a := <-meeting
			a.reply <- faded
		}
	}()
	for id := 0; id < 3; id++ {
		go func(id int) {
			colour := id
			r := request{reply: make(chan int, 1)}
			for {
				r.colour = colour
				meeting <- r
				other := <-r.reply
				if other == faded {
					break
				}
				colour = complement(colour, other)
				meetings[id]++
			}
			wg.Done()
		}(id)
	}
	wg.Wait()
	t1 := benchNow()
	if meetings[0]+meetings[1]+meetings[2] != 2*n {
		benchFail("chameneos", "meetings do not add up to 2N")
	}
	benchInfo("meetings", "%d %d %d", meetings[0], meetings[1], meetings[2])
	benchInfo("nprocs", "%d", runtime.GOMAXPROCS(0))
	benchResult("chameneos", float64(t1-t0)/float64(n), "ns/meeting")
}
