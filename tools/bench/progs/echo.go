// SPDX-License-Identifier: MIT
//
// echo_N: TCP echo ping-pong over loopback with N connections, server and
// clients in one process, one goroutine per connection on each side:
// 64-byte messages, each echo checked, for SECONDS after all connected.
// Round trips per second; INFO p50/p99.  C twin: echo.c.

package main

import (
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const msg = 64
const sub = 32

var hist [64 * sub]int64

func bucket(ns uint64) int {
	e := 63
	for e > 0 && ns>>uint(e) == 0 {
		e--
	}
	if e < 5 {
		return int(ns)
	}
	return e*sub + int((ns>>uint(e-5))&(sub-1))
}

func bucketUs(b int) float64 {
	e := b / sub
	if e < 5 {
		return float64(b) / 1e3
	}
	return float64(uint64(sub+b%sub)<<uint(e-5)) / 1e3
}

func pct(total int64, q float64) float64 {
	var seen int64
	for b := range hist {
		seen += atomic.LoadInt64(&hist[b])
		if seen > int64(q*float64(total)) {
			return bucketUs(b)
		}
	}
	return 0
}

func main() {
	name := filepath.Base(os.Args[0])
	conns := benchArg(1, 64)
	seconds := benchArg(2, 3)
	var rl syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl) == nil {
		rl.Cur = rl.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		benchFail(name, "listen")
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func(c net.Conn) {
				defer c.Close()
				buf := make([]byte, 4096)
				for {
					n, err := c.Read(buf)
					if n <= 0 || err != nil {
						return
					}
					if _, err := c.Write(buf[:n]); err != nil {
						return
					}
				}
			}(c)
		}
	}()
	var trips, up, errors int64
	var stop int32
	var wg sync.WaitGroup
	addr := ln.Addr().String()
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c, err := net.Dial("tcp", addr)
			if err != nil {
				atomic.AddInt64(&errors, 1)
				return
			}
			defer c.Close()
			atomic.AddInt64(&up, 1)
			out := make([]byte, msg)
			in := make([]byte, msg)
			for k := i; atomic.LoadInt32(&stop) == 0; k++ {
				t0 := time.Now()
				for j := range out {
					out[j] = byte(k)
				}
				if _, err := c.Write(out); err != nil {
					return
				}
				if _, err := io.ReadFull(c, in); err != nil {
					return
				}
				if !bytes.Equal(in, out) {
					atomic.AddInt64(&errors, 1)
					return
				}
				atomic.AddInt64(&hist[bucket(uint64(time.Since(t0)))], 1)
				atomic.AddInt64(&trips, 1)
			}
		}(i)
	}
	for atomic.LoadInt64(&up)+atomic.LoadInt64(&errors) < int64(conns) {
		time.Sleep(time.Millisecond)
	}
	if errors > 0 {
		benchFail(name, "connect failed")
	}
	time.Sleep(200 * time.Millisecond)
	atomic.StoreInt64(&trips, 0)
	for b := range hist {
		atomic.StoreInt64(&hist[b], 0)
	}
	t0 := time.Now()
	time.Sleep(time.Duration(seconds) * time.Second)
	n := atomic.LoadInt64(&trips)
	d := time.Since(t0)
	atomic.StoreInt32(&stop, 1)
	wg.Wait()
	if atomic.LoadInt64(&errors) > 0 {
		benchFail(name, "echo mismatch")
	}
	benchInfo("p50_us", "%.1f", pct(n, 0.50))
	benchInfo("p99_us", "%.1f", pct(n, 0.99))
	benchInfo("gomaxprocs", "%d", runtime.GOMAXPROCS(0))
	benchResult(name, float64(n)/d.Seconds(), "rtt/s")
}
