// SPDX-License-Identifier: MIT
//
// http_hello: a keep-alive HTTP/1.1 "Hello, World!" server on raw TCP, one
// goroutine per connection (the same parsing as the C twin http_hello.c,
// not net/http).  Run by drivers/wrk as "http_hello PORT"; it serves until
// killed.

package main

import (
	"bytes"
	"fmt"
	"net"
	"os"
)

var reply = []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!")
var replyClose = []byte("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\nConnection: close\r\n\r\nHello, World!")

func wantsClose(head []byte) bool {
	if bytes.Contains(head, []byte("Connection: close")) {
		return true
	}
	return bytes.Contains(head, []byte("HTTP/1.0")) &&
		!bytes.Contains(head, []byte("Connection: keep-alive"))
}

func serve(c net.Conn) {
	defer c.Close()
	in := make([]byte, 8192)
	out := make([]byte, 0, 16*len(reply))
	have := 0
	closing := false
	for !closing {
		n, err := c.Read(in[have:])
		if n <= 0 || err != nil {
			return
		}
		have += n
		used := 0
		out = out[:0]
		for {
			i := bytes.Index(in[used:have], []byte("\r\n\r\n"))
			if i < 0 {
				break
			}
			end := used + i + 4
			closing = wantsClose(in[used:end])
			if closing {
				out = append(out, replyClose...)
			} else {
				out = append(out, reply...)
			}
			used = end
			if closing {
				break
			}
		}
		if len(out) > 0 {
			if _, err := c.Write(out); err != nil {
				return
			}
		}
		copy(in, in[used:have])
		have -= used
		if have == len(in) {
			return
		}
	}
}

func main() {
	port := benchArg(1, 8080)
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		fmt.Fprintln(os.Stderr, "http_hello:", err)
		os.Exit(1)
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			continue
		}
		go serve(c)
	}
}
