/* SPDX-License-Identifier: MIT */
/*
 * http_hello: the keep-alive HTTP/1.1 "Hello, World!" server of
 * user/examples/http_hello.c, unchanged.  drivers/wrk runs it as
 * "http_hello PORT" and measures it with wrk.  Go twin: http_hello.go.
 */
#include "../../../user/examples/http_hello.c"
