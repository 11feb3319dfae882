// SPDX-License-Identifier: MIT
//
// file_read: COUNT 4 KB random reads (os.File.ReadAt) from a 2 GiB file,
// shared by 64 goroutines; reads per second.  MODE cold (default) drops the
// file from the page cache first and disables readahead; warm reads from
// the cache.  Shares build/bench/file_read.dat with the C twin file_read.c.

package main

import (
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const fileSize = 2 << 30
const block = 4096

func openData(path string) *os.File {
	if f, err := os.Open(path); err == nil {
		if st, err := f.Stat(); err == nil && st.Size() == fileSize {
			return f
		}
		f.Close()
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0644)
	if err != nil {
		return nil
	}
	b := make([]byte, 1<<20)
	for o := int64(0); o < fileSize; o += 1 << 20 {
		for i := 0; i < len(b); i += 8 {
			v := uint64(o+int64(i)) * 0x9E3779B97F4A7C15
			for k := 0; k < 8; k++ {
				b[i+k] = byte(v >> (8 * k))
			}
		}
		if _, err := f.WriteAt(b, o); err != nil {
			return nil
		}
	}
	f.Sync()
	return f
}

func fadvise(f *os.File, advice int) {
	syscall.Syscall6(syscall.SYS_FADVISE64, f.Fd(), 0, 0, uintptr(advice), 0, 0)
}

func main() {
	gs := benchArg(1, 64)
	count := int64(benchArg(2, 100000))
	cold := len(os.Args) < 4 || os.Args[3] != "warm"
	dir := os.Getenv("BENCH_DATA_DIR")
	if dir == "" {
		dir = "build/bench"
	}
	f := openData(dir + "/file_read.dat")
	if f == nil {
		benchFail("file_read", "cannot create the data file")
	}
	if cold {
		fadvise(f, 4) // POSIX_FADV_DONTNEED
		fadvise(f, 1) // POSIX_FADV_RANDOM
		benchInfo("mode", "cold (page cache dropped, no readahead)")
	} else {
		b := make([]byte, 1<<20)
		for o := int64(0); o < fileSize; o += 1 << 20 {
			f.ReadAt(b, o)
		}
		benchInfo("mode", "warm (page cache)")
	}
	var issued, failures int64
	var wg sync.WaitGroup
	t0 := time.Now()
	for g := 0; g < gs; g++ {
		wg.Add(1)
		go func(x uint64) {
			defer wg.Done()
			buf := make([]byte, block)
			for atomic.AddInt64(&issued, 1) <= count {
				x ^= x << 13
				x ^= x >> 7
				x ^= x << 17
				off := int64(x%(fileSize/block)) * block
				if n, _ := f.ReadAt(buf, off); n != block {
					atomic.AddInt64(&failures, 1)
					return
				}
			}
		}(uint64(g+1)*0x9E3779B97F4A7C15 + 1)
	}
	wg.Wait()
	d := time.Since(t0)
	if failures > 0 {
		benchFail("file_read", "short read")
	}
	benchResult("file_read", float64(count)/d.Seconds(), "reads/s")
}
