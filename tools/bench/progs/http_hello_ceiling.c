/* SPDX-License-Identifier: MIT */
/*
 * http_hello_ceiling: the most wrk can drive on this machine.  Not an mnsched
 * program: one thread that never sleeps, polling every connection with
 * non-blocking recv() and answering with the same "Hello, World!" as
 * http_hello.  It costs the load generator as little as a server can (wrk
 * never has to wake it up) and owns a CPU to do it, so wrk's -t1 thread is
 * the only limit.  benchmarks.tbl runs it as the base side of
 * http_hello.ceiling: ours/ceiling says how much of what wrk can drive
 * http_hello gets, which bounds any ours/Go ratio (see README.md).
 * A request that says "Connection: close" gets a reply that says so and
 * the connection is closed (as user/examples/http_hello.c does): built as
 * http_close_ceiling it is the base side of http_close.ceiling, the most
 * connections per second wrk can open, use once and close here.
 *
 *   http_hello_ceiling PORT  (drivers/wrk runs it as the "c-ceiling" build
 *                             of http_hello)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXCONN	4096
#define BUFSZ	8192

/* The answers of user/examples/http_hello.c, byte for byte. */
#define HEAD	"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n"
static const char reply[] = HEAD "\r\nHello, World!";
static const char reply_close[] = HEAD "Connection: close\r\n\r\nHello, World!";

struct conn {
	int fd;
	size_t have;		/* bytes of an incomplete request kept */
	char buf[BUFSZ];
};

static struct conn conns[MAXCONN];

/* Answer every complete request in c->buf; keep the incomplete tail.
 * Returns -1 when the connection is to be closed. */
static int answer(struct conn *c)
{
	char *p = c->buf, *end = c->buf + c->have, *e;

	while ((e = memmem(p, (size_t)(end - p), "\r\n\r\n", 4))) {
		int last = memmem(p, (size_t)(e - p), "Connection: close", 17) != NULL;
		const char *r = last ? reply_close : reply;
		size_t n = last ? sizeof(reply_close) - 1 : sizeof(reply) - 1;

		if (send(c->fd, r, n, MSG_NOSIGNAL) != (ssize_t)n)
			return -1;	/* loopback: a short send means a dead peer */
		if (last)
			return -1;
		p = e + 4;
	}
	c->have = (size_t)(end - p);
	memmove(c->buf, p, c->have);
	return c->have == BUFSZ ? -1 : 0;	/* a head larger than BUFSZ */
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int ls, one = 1, n = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: %s PORT\n", argv[0]);
		return 64;
	}
	a.sin_port = htons((unsigned short)atoi(argv[1]));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (ls < 0 || setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 1024)) {
		perror("http_hello_ceiling: listen");
		return 1;
	}
	for (;;) {
		int fd = accept4(ls, NULL, NULL, SOCK_NONBLOCK);

		if (fd >= 0 && n == MAXCONN)
			close(fd);
		else if (fd >= 0)
			conns[n++] = (struct conn){ .fd = fd };
		for (int i = 0; i < n; i++) {
			struct conn *c = &conns[i];
			ssize_t r = recv(c->fd, c->buf + c->have, BUFSZ - c->have,
					 MSG_DONTWAIT);

			if (r < 0 && (errno == EAGAIN || errno == EINTR))
				continue;	/* nothing yet */
			if (r > 0)
				c->have += (size_t)r;
			if (r <= 0 || answer(c)) {
				close(c->fd);
				*c = conns[--n];
				i--;
			}
		}
	}
}
