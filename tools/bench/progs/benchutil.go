// SPDX-License-Identifier: MIT
//
// Helpers shared by the Go side of tools/bench; built together with each
// benchmark file (go build -o X NAME.go benchutil.go).  Output protocol as in
// bench.h: one "RESULT name value unit" line on stdout, optional "INFO key
// value" lines, progress on stderr.

package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

var benchStart = time.Now()

// benchNow returns monotonic nanoseconds.
func benchNow() int64 { return int64(time.Since(benchStart)) }

func benchArg(i int, def int) int {
	if len(os.Args) > i {
		v, err := strconv.Atoi(os.Args[i])
		if err != nil || v <= 0 {
			fmt.Fprintf(os.Stderr, "bad argument '%s'\n", os.Args[i])
			os.Exit(64)
		}
		return v
	}
	return def
}

func benchResult(name string, value float64, unit string) {
	fmt.Printf("RESULT %s %s %s\n", name, strconv.FormatFloat(value, 'g', 6, 64), unit)
}

func benchInfo(key string, format string, a ...interface{}) {
	fmt.Printf("INFO %s %s\n", key, fmt.Sprintf(format, a...))
}

func benchProgress(name, what string) {
	fmt.Fprintf(os.Stderr, "%s: %s\n", name, what)
}

func benchFail(name, why string) {
	fmt.Printf("ERROR %s %s\n", name, why)
	fmt.Fprintf(os.Stderr, "%s: FAILED: %s\n", name, why)
	os.Exit(1)
}

// benchRSSBytes returns the resident set size from /proc/self/statm.
func benchRSSBytes() int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) < 2 {
		return -1
	}
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		return -1
	}
	return pages * int64(os.Getpagesize())
}

func benchProcLong(path string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return -1
	}
	v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		return -1
	}
	return v
}

func benchNrMaps() int64 {
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		return -1
	}
	return int64(strings.Count(string(b), "\n"))
}
