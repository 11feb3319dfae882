/* SPDX-License-Identifier: MIT */
/*
 * http_hello: the keep-alive HTTP/1.1 "Hello, World!" server of
 * user/examples/http_hello.c, unchanged.  drivers/wrk runs it as
 * "http_hello PORT" and measures it with wrk.  Go twin: http_hello.go.
 * The other http_* programs are this one under another name, which tells
 * drivers/wrk what to report (_cpu, _p99) and whether wrk sends
 * "Connection: close" (http_close*: a connection and a G per request).
 */
#include "../../../user/examples/http_hello.c"
