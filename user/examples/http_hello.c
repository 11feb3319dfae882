// SPDX-License-Identifier: MIT
/*
 * http_hello - a keep-alive HTTP/1.1 server that answers every request
 * with "Hello, World!".  One G per connection.
 *
 *   http_hello [PORT]           (default 8080, listens on 127.0.0.1)
 *   wrk -t1 -c64 -d10s http://127.0.0.1:8080/
 *
 * Requests are read into a buffer; each complete one (up to the blank
 * line; bodies are not expected) gets the fixed response.  Pipelined
 * requests are answered in one send.  "Connection: close" or HTTP/1.0
 * without keep-alive closes after the response, which says
 * "Connection: close".
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* memmem */
#endif
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <mnsched.h>

static const char reply[] =
	"HTTP/1.1 200 OK\r\n"
	"Content-Type: text/plain\r\n"
	"Content-Length: 13\r\n"
	"\r\n"
	"Hello, World!";
#define REPLY_LEN (sizeof(reply) - 1)
/* The last answer on a connection says so (a client would otherwise send
 * its next request on it). */
static const char reply_close[] =
	"HTTP/1.1 200 OK\r\n"
	"Content-Type: text/plain\r\n"
	"Content-Length: 13\r\n"
	"Connection: close\r\n"
	"\r\n"
	"Hello, World!";
#define REPLY_CLOSE_LEN (sizeof(reply_close) - 1)

static int port = 8080;

static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = mn_send(fd, p, n, 0);

		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Does the request head [p, end) ask us to close? */
static int wants_close(const char *p, const char *end)
{
	int http10 = memmem(p, (size_t)(end - p), "HTTP/1.0", 8) != NULL;

	if (memmem(p, (size_t)(end - p), "Connection: close", 17))
		return 1;
	return http10 && !memmem(p, (size_t)(end - p), "Connection: keep-alive", 22);
}

static void serve(void *arg)
{
	int fd = (int)(long)arg, closing = 0;
	char in[8192], out[16 * REPLY_CLOSE_LEN];
	size_t have = 0;

	while (!closing) {
		ssize_t n = mn_recv(fd, in + have, sizeof(in) - have, 0);
		size_t used = 0, nout = 0;
		char *end;

		if (n <= 0)
			break;
		have += (size_t)n;
		/* Answer every complete request in the buffer. */
		while ((end = memmem(in + used, have - used, "\r\n\r\n", 4))) {
			end += 4;
			closing = wants_close(in + used, end);
			if (nout + REPLY_CLOSE_LEN > sizeof(out)) {
				if (send_all(fd, out, nout))
					goto out;
				nout = 0;
			}
			if (closing) {
				memcpy(out + nout, reply_close, REPLY_CLOSE_LEN);
				nout += REPLY_CLOSE_LEN;
			} else {
				memcpy(out + nout, reply, REPLY_LEN);
				nout += REPLY_LEN;
			}
			used = (size_t)(end - in);
			if (closing)
				break;
		}
		if (nout && send_all(fd, out, nout))
			break;
		memmove(in, in + used, have - used);
		have -= used;
		if (have == sizeof(in))
			break;		/* a head larger than 8 KB: give up */
	}
out:
	mn_close(fd);
}

static void server(void *arg)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int one = 1, lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(lfd, 4096)) {
		perror("http_hello: bind/listen");
		exit(1);
	}
	fprintf(stderr, "http_hello: http://127.0.0.1:%d/, I/O path %s\n", port,
		mn_io_backend());
	for (;;) {
		int fd = mn_accept(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0)
			continue;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (mn_go(serve, (void *)(long)fd))
			mn_close(fd);
	}
}

int main(int argc, char **argv)
{
	if (argc > 1)
		port = atoi(argv[1]);
	return mn_main(server, NULL) ? 1 : 0;
}
