// SPDX-License-Identifier: MIT
/*
 * echo_server - a TCP echo server: one G per connection.
 *
 *   echo_server [PORT]          (default 7007, listens on 127.0.0.1)
 *
 * Every call that waits (accept, recv, send) parks only its G; with
 * io_uring the M goes on running other connections' Gs.  Try it with
 * `loadclient 127.0.0.1:7007` or `nc 127.0.0.1 7007`.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <mnsched.h>

static int port = 7007;

/* Echo until the peer closes (recv returns 0) or an error. */
static void serve(void *arg)
{
	int fd = (int)(long)arg;
	char buf[16384];
	ssize_t n;

	while ((n = mn_recv(fd, buf, sizeof(buf), 0)) > 0) {
		for (ssize_t off = 0; off < n;) {	/* sends may be short */
			ssize_t w = mn_send(fd, buf + off, (size_t)(n - off), 0);

			if (w < 0)
				goto out;
			off += w;
		}
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
		perror("echo_server: bind/listen");
		exit(1);
	}
	fprintf(stderr, "echo_server: 127.0.0.1:%d, I/O path %s\n", port,
		mn_io_backend());
	for (;;) {
		int fd = mn_accept(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			fprintf(stderr, "echo_server: accept: %s\n", strerror(-fd));
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, 1 /* TCP_NODELAY */, &one, sizeof(one));
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
