// SPDX-License-Identifier: MIT
/*
 * io_echo.c - a TCP echo server and its clients, all Gs in one process:
 * 1,000 concurrent connections with every byte verified, accept with many
 * clients already waiting in the backlog, and many acceptor Gs on one
 * listening socket.
 */
#include "io_util.h"

static int lfd, port;
static atomic_int accepted, served, failures;

static void echo_conn(void *arg)
{
	int fd = (int)(long)arg;
	char buf[2048];

	for (;;) {
		ssize_t n = mn_recv(fd, buf, sizeof(buf), 0);

		if (n <= 0)
			break;
		if (io_send_all(fd, buf, (size_t)n)) {
			atomic_fetch_add(&failures, 1);
			break;
		}
	}
	mn_close(fd);
	atomic_fetch_add(&served, 1);
}

/* Accept until the listening socket is closed (then -EBADF). */
static void acceptor(void *arg)
{
	for (;;) {
		int fd = mn_accept(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			G_ASSERT(fd == -EBADF || fd == -EINVAL);
			return;
		}
		atomic_fetch_add(&accepted, 1);
		G_ASSERT_EQ(mn_go(echo_conn, (void *)(long)fd), 0);
	}
}

struct client_arg {
	int id, rounds, size;
	struct mn_wg *wg;
	struct mn_chan *connected;	/* NULL: do not report */
	struct mn_chan *go;		/* NULL: start at once */
};

/* Send rounds messages of a pattern that depends on (id, round) and check
 * each echo byte for byte. */
static void client(void *arg)
{
	struct client_arg *a = arg;
	char *out = malloc((size_t)a->size), *in = malloc((size_t)a->size);
	int fd = io_dial(port);

	G_ASSERT(fd >= 0);
	if (a->connected)
		mn_chan_send(a->connected, NULL);
	if (a->go)
		G_ASSERT_EQ(mn_chan_recv(a->go, NULL), 0);	/* closed: go */
	for (int r = 0; r < a->rounds; r++) {
		for (int i = 0; i < a->size; i++)
			out[i] = (char)(a->id * 131 + r * 7 + i);
		G_ASSERT_EQ(io_send_all(fd, out, (size_t)a->size), 0);
		G_ASSERT_EQ(io_recv_all(fd, in, (size_t)a->size), 0);
		G_ASSERT(memcmp(in, out, (size_t)a->size) == 0);
	}
	/* Half-close: the server sees EOF and closes; we see EOF too. */
	G_ASSERT_EQ(mn_shutdown(fd, SHUT_WR), 0);
	G_ASSERT_EQ(mn_recv(fd, in, 1, 0), 0);
	G_ASSERT_EQ(mn_close(fd), 0);
	free(out);
	free(in);
	mn_wg_done(a->wg);
}

#define NCONN 1000

static void thousand_main(void *arg)
{
	static struct client_arg args[NCONN];
	struct mn_wg wg = MN_WG_INIT;
	struct mn_chan *connected = mn_chan_new(0, NCONN), *go = mn_chan_new(0, 0);
	uint64_t t0 = mn_now();

	lfd = io_listen(&port, 4096);
	G_ASSERT(lfd >= 0);
	mn_go(acceptor, NULL);
	mn_wg_add(&wg, NCONN);
	for (int i = 0; i < NCONN; i++) {
		args[i] = (struct client_arg){ .id = i, .rounds = 20,
			.size = 100 + (i % 7) * 300, .wg = &wg,
			.connected = connected, .go = go };
		G_ASSERT_EQ(mn_go(client, &args[i]), 0);
	}
	/* All 1,000 connected before any sends: truly concurrent. */
	for (int i = 0; i < NCONN; i++)
		mn_chan_recv(connected, NULL);
	mn_chan_close(go);
	mn_wg_wait(&wg);
	G_ASSERT_EQ(atomic_load(&failures), 0);
	G_ASSERT_EQ(atomic_load(&accepted), NCONN);
	while (atomic_load(&served) < NCONN)
		mn_sleep(1000000);
	fprintf(stderr, "# %s: %d connections x 20 echoes in %llu ms\n",
		io_path(), NCONN, (unsigned long long)((mn_now() - t0) / 1000000));
	G_ASSERT_EQ(mn_close(lfd), 0);	/* the acceptor gets -EBADF */
	mn_sleep(20000000);
}

TEST(thousand_concurrent_connections_data_verified)
{
	io_raise_nofile();
	T_RUN(thousand_main, NULL);
}

/*
 * Clients connect before anyone accepts: they sit in the backlog (their
 * connects complete in the kernel).  Then 4 acceptor Gs drain it.
 */
#define NWAIT 200

static void backlog_main(void *arg)
{
	static struct client_arg args[NWAIT];
	struct mn_wg wg = MN_WG_INIT;
	struct mn_chan *connected = mn_chan_new(0, NWAIT);

	lfd = io_listen(&port, 1024);
	G_ASSERT(lfd >= 0);
	mn_wg_add(&wg, NWAIT);
	for (int i = 0; i < NWAIT; i++) {
		args[i] = (struct client_arg){ .id = i, .rounds = 3, .size = 64,
			.wg = &wg, .connected = connected };
		G_ASSERT_EQ(mn_go(client, &args[i]), 0);
	}
	for (int i = 0; i < NWAIT; i++)
		mn_chan_recv(connected, NULL);
	G_ASSERT_EQ(atomic_load(&accepted), 0);
	for (int i = 0; i < 4; i++)
		mn_go(acceptor, NULL);
	mn_wg_wait(&wg);
	G_ASSERT_EQ(atomic_load(&accepted), NWAIT);
	G_ASSERT_EQ(atomic_load(&failures), 0);
	mn_close(lfd);
	mn_sleep(20000000);
}

TEST(accept_with_many_clients_waiting)
{
	io_raise_nofile();
	T_RUN_PROCS(2, backlog_main, NULL);
}

/* accept4's arguments: the peer address and SOCK_NONBLOCK on the new fd. */
static void accept_args_main(void *arg)
{
	struct sockaddr_in peer, me;
	socklen_t plen = sizeof(peer), mlen = sizeof(me);
	int c, s;

	lfd = io_listen(&port, 16);
	c = io_dial(port);
	G_ASSERT(c >= 0);
	s = mn_accept(lfd, (struct sockaddr *)&peer, &plen,
		      SOCK_NONBLOCK | SOCK_CLOEXEC);
	G_ASSERT(s >= 0);
	G_ASSERT_EQ(plen, sizeof(peer));
	getsockname(c, (struct sockaddr *)&me, &mlen);
	G_ASSERT_EQ(peer.sin_port, me.sin_port);
	G_ASSERT(fcntl(s, F_GETFL) & O_NONBLOCK);
	G_ASSERT(fcntl(s, F_GETFD) & FD_CLOEXEC);
	/* O_NONBLOCK fds still wait for data. */
	mn_go(acceptor, NULL);	/* unused, exercises a second waiter */
	G_ASSERT_EQ(mn_send(c, "hi", 2, 0), 2);
	{
		char b[4];

		G_ASSERT_EQ(mn_recv(s, b, sizeof(b), 0), 2);
	}
	/* Bad arguments as the system call reports them. */
	G_ASSERT_EQ(mn_accept(lfd, NULL, NULL, 0x12345678), -EINVAL);
	G_ASSERT_EQ(mn_accept(c, NULL, NULL, 0), -EINVAL);	/* not listening */
	G_ASSERT_EQ(mn_accept(-1, NULL, NULL, 0), -EBADF);
	mn_close(c);
	mn_close(s);
	mn_close(lfd);
}

TEST(accept4_arguments_and_errors)
{
	T_RUN(accept_args_main, NULL);
}

TEST_HARNESS_MAIN
