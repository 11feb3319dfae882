// SPDX-License-Identifier: MIT
//
// select_fanin: 4 producers each send N/4 values on their own unbuffered
// channel and close it; one consumer selects over the 4 channels until all
// are closed (nil-ing closed ones).  ns per message.  C twin:
// select_fanin.c.

package main

import "runtime"

const nprod = 4

func main() {
	per := benchArg(1, 2000000) / nprod
	var ch [nprod]chan int
	for i := range ch {
		ch[i] = make(chan int)
	}
	t0 := benchNow()
	for i := 0; i < nprod; i++ {
		go func(c chan int) {
			for j := 1; j <= per; j++ {
				c <- j
			}
			close(c)
		}(ch[i])
	}
	c0, c1, c2, c3 := ch[0], ch[1], ch[2], ch[3]
	sum, open := 0, nprod
	for open > 0 {
		var v int
		var ok bool
		select {
		case v, ok = <-c0:
			if !ok {
				c0 = nil
			}
		case v, ok = <-c1:
			if !ok {
				c1 = nil
			}
		case v, ok = <-c2:
			if !ok {
				c2 = nil
			}
		case v, ok = <-c3:
			if !ok {
				c3 = nil
			}
		}
		if !ok {
			open--
			continue
		}
		sum += v
	}
	t1 := benchNow()
	if sum != nprod*per*(per+1)/2 {
		benchFail("select_fanin", "wrong sum")
	}
	benchInfo("nprocs", "%d", runtime.GOMAXPROCS(0))
	benchResult("select_fanin", float64(t1-t0)/float64(nprod*per), "ns/msg")
}
