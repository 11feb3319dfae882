/* SPDX-License-Identifier: MIT */
/*
 * io_util.h - helpers for the I/O selftests (io_*.c): loopback sockets,
 * the I/O path in use, and raising RLIMIT_NOFILE.
 *
 * Every io test binary runs twice (selftests/mnsched/io.mk): with
 * MNSCHED_IO=uring and with MNSCHED_IO=blocking.  A test that only makes
 * sense on one path SKIPs on the other (io_path()).  Its helpers are named
 * io_ (the library's internal I/O code uses no such names; mn_ is the
 * library's prefix, t_ the other test helpers').
 */
#ifndef T_IO_UTIL_H
#define T_IO_UTIL_H

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include "mn_test.h"

/* The path this run tests: "uring" or "blocking" (MNSCHED_IO, default
 * uring when unset). */
static inline const char *io_path(void)
{
	const char *s = getenv("MNSCHED_IO");

	return s && !strcmp(s, "blocking") ? "blocking" : "uring";
}

static inline bool io_uring_path(void)
{
	return !strcmp(io_path(), "uring");
}

static inline void io_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

/* A listening TCP socket on 127.0.0.1, any port; *port gets it. */
static inline int io_listen(int *port, int backlog)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	*port = 0;
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) ||
	    listen(fd, backlog)) {
		close(fd);
		return -1;
	}
	*port = ntohs(sa.sin_port);
	return fd;
}

/* Connect to 127.0.0.1:port through mn_connect; the fd or -errno. */
static inline int io_dial(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), r;

	if (fd < 0)
		return -1;
	r = mn_connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	if (r) {
		close(fd);
		return r;
	}
	return fd;
}

/* Write all of buf (mn_send); 0 or -errno. */
static inline int io_send_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n) {
		ssize_t k = mn_send(fd, p, n, 0);

		if (k <= 0)
			return k < 0 ? (int)k : -EIO;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* Read exactly n bytes (mn_recv); 0, -EPIPE at an early EOF, or -errno. */
static inline int io_recv_all(int fd, void *buf, size_t n)
{
	char *p = buf;

	while (n) {
		ssize_t k = mn_recv(fd, p, n, 0);

		if (k == 0)
			return -EPIPE;
		if (k < 0)
			return (int)k;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

#endif
