// SPDX-License-Identifier: MIT
/*
 * io_rx.c - multishot receive on TCP sockets (user/src/rx.c): a ring of 4
 * buffers shared by 1,000 connections runs dry again and again and every
 * byte still arrives intact and in order (backpressure, not loss), and
 * every buffer comes back; the calls that read a socket whose data the
 * multishot queue holds (MSG_PEEK, MSG_WAITALL, mn_read,
 * mn_readv, mn_recvmsg, mn_poll) take it from there in order; deadlines,
 * contexts and mn_close cut a wait short without losing data; a socket
 * closed with close(2) behind the runtime's back is let go when its fd
 * number comes back through mn_accept; MNSCHED_DEBUG=multishot=0 takes the
 * path of a kernel without it (one notice line, plain receives).
 *
 * On the blocking path (MNSCHED_IO=blocking) there is no multishot: the
 * checks of the data still run, the counters are not looked at.
 */
#include <poll.h>
#include <sys/uio.h>
#include "io_util.h"

int64_t mn_debug_io_stat(const char *name);

/* ---- 1,000 connections through 4 buffers ---- */

#define NCONN		1000
#define PER_CONN	(24 * 1024)
#define NACCEPTORS	4

static int lfd, port;
static atomic_int verified, failures;
static struct mn_wg wg = MN_WG_INIT;

static inline char pattern(int id, size_t off)
{
	return (char)(id * 31 + off * 7 + (off >> 9));
}

/* Reads one connection: the client's id first (4 bytes), then PER_CONN
 * bytes that must match its pattern, then end of stream. */
static void reader(void *arg)
{
	int fd = (int)(long)arg, id = -1, k = 0;
	size_t off = 0;
	char buf[1500];

	G_ASSERT_EQ(io_recv_all(fd, &id, sizeof(id)), 0);
	G_ASSERT(id >= 0 && id < NCONN);
	for (;;) {
		/* Odd sizes, so copies straddle the 4 KiB buffers. */
		size_t want = 1 + (size_t)(k++ * 397) % sizeof(buf);
		ssize_t n = mn_recv(fd, buf, want, 0);

		G_ASSERT(n >= 0);
		if (n == 0)
			break;
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != pattern(id, off + (size_t)i)) {
				fprintf(stderr, "conn %d: byte %zu is %d, want %d\n", id,
					off + (size_t)i, buf[i], pattern(id, off + (size_t)i));
				atomic_fetch_add(&failures, 1);
				_exit(1);
			}
		off += (size_t)n;
		/* Some readers are slow: their queued buffers are what the
		 * others run short of. */
		if (id % 7 == 0 && k % 5 == 0)
			mn_sleep(200 * 1000);
	}
	G_ASSERT_EQ(off, PER_CONN);
	atomic_fetch_add(&verified, 1);	/* before the writer can see the ack */
	G_ASSERT_EQ(mn_send(fd, "k", 1, 0), 1);
	mn_close(fd);
}

static void acceptor(void *arg)
{
	for (int i = 0; i < NCONN / NACCEPTORS; i++) {
		int fd = mn_accept(lfd, NULL, NULL, SOCK_CLOEXEC);

		G_ASSERT(fd >= 0);
		G_ASSERT_EQ(mn_go(reader, (void *)(long)fd), 0);
	}
}

static void writer(void *arg)
{
	int id = (int)(long)arg, fd = io_dial(port);
	char *out = malloc(PER_CONN);
	char ack;

	G_ASSERT(fd >= 0 && out);
	for (size_t i = 0; i < PER_CONN; i++)
		out[i] = pattern(id, i);
	G_ASSERT_EQ(io_send_all(fd, &id, sizeof(id)), 0);
	/* In pieces, so the data comes in many chunks. */
	for (size_t off = 0; off < PER_CONN; off += 3000) {
		size_t n = PER_CONN - off < 3000 ? PER_CONN - off : 3000;

		G_ASSERT_EQ(io_send_all(fd, out + off, n), 0);
		if (id % 3 == 0)
			mn_yield();
	}
	G_ASSERT_EQ(mn_shutdown(fd, SHUT_WR), 0);
	G_ASSERT_EQ(mn_recv(fd, &ack, 1, 0), 1);
	G_ASSERT_EQ(ack, 'k');
	G_ASSERT_EQ(mn_recv(fd, &ack, 1, 0), 0);
	mn_close(fd);
	free(out);
	mn_wg_done(&wg);
}

static void tiny_ring_main(void *arg)
{
	lfd = io_listen(&port, 4096);
	G_ASSERT(lfd >= 0);
	for (int i = 0; i < NACCEPTORS; i++)
		G_ASSERT_EQ(mn_go(acceptor, NULL), 0);
	mn_wg_add(&wg, NCONN);
	for (int i = 0; i < NCONN; i++)
		G_ASSERT_EQ(mn_go(writer, (void *)(long)i), 0);
	mn_wg_wait(&wg);
	/* Every reader counted itself before its ack went out. */
	G_ASSERT_EQ(atomic_load(&verified), NCONN);
	G_ASSERT_EQ(atomic_load(&failures), 0);
	mn_close(lfd);
	if (!io_uring_path() || getenv("MNSCHED_DEBUG"))
		return;		/* blocking, or multishot=0: nothing to count */
	G_ASSERT_EQ(mn_debug_io_stat("rx_on"), 1);
	G_ASSERT(mn_debug_io_stat("rx_arms") >= NCONN);
	/* The ring ran dry, so backpressure was really tested ... */
	G_ASSERT(mn_debug_io_stat("rx_enobufs") > 0);
	/* ... and every buffer came back. */
	G_ASSERT_EQ(mn_debug_io_stat("rx_held"), 0);
	fprintf(stderr, "# arms %lld, ran dry %lld times, plain receives %lld\n",
		(long long)mn_debug_io_stat("rx_arms"),
		(long long)mn_debug_io_stat("rx_enobufs"),
		(long long)mn_debug_io_stat("rx_plain"));
}

/* Under TCG in the test VM this takes far longer than the harness's
 * default 30 s allows. */
FIXTURE(slow) {};
FIXTURE_SETUP(slow) {}
FIXTURE_TEARDOWN(slow) {}

TEST_F_TIMEOUT(slow, tiny_ring_1000_connections, 240)
{
	io_raise_nofile();
	ASSERT_EQ(0, t_main("MNSCHED_IO_RECVBUFS", "4", tiny_ring_main, NULL));
}

/* ---- every read call takes from the queue, in order ---- */

static void pair(int *a, int *b)
{
	int l = io_listen(&port, 4), one = 1;

	G_ASSERT(l >= 0);
	*b = io_dial(port);
	G_ASSERT(*b >= 0);
	*a = mn_accept(l, NULL, NULL, SOCK_CLOEXEC);
	G_ASSERT(*a >= 0);
	setsockopt(*b, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	mn_close(l);
}

/* Send s and wait until the multishot has queued it (the receiver's
 * poll says readable). */
static void put(int to, int from, const char *s)
{
	struct pollfd p = { .fd = from, .events = POLLIN };

	G_ASSERT_EQ(io_send_all(to, s, strlen(s)), 0);
	G_ASSERT_EQ(mn_poll(&p, 1, 5000), 1);
	G_ASSERT(p.revents & POLLIN);
}

static void calls_main(void *arg)
{
	int a, b;
	char buf[64];
	struct iovec iov[3];
	struct msghdr msg;
	struct pollfd p;

	pair(&a, &b);
	/* First receive arms the multishot. */
	G_ASSERT_EQ(io_send_all(b, "hello", 5), 0);
	G_ASSERT_EQ(io_recv_all(a, buf, 5), 0);
	G_ASSERT(!memcmp(buf, "hello", 5));

	put(b, a, "abcdef");
	G_ASSERT_EQ(mn_recv(a, buf, 3, MSG_PEEK), 3);
	G_ASSERT(!memcmp(buf, "abc", 3));
	G_ASSERT_EQ(mn_recv(a, buf, 2, 0), 2);
	G_ASSERT(!memcmp(buf, "ab", 2));
	G_ASSERT_EQ(mn_read(a, buf, 2), 2);
	G_ASSERT(!memcmp(buf, "cd", 2));
	iov[0] = (struct iovec){ buf, 1 };
	iov[1] = (struct iovec){ buf + 1, 5 };
	G_ASSERT_EQ(mn_readv(a, iov, 2), 2);
	G_ASSERT(!memcmp(buf, "ef", 2));

	put(b, a, "0123456789");
	memset(&msg, 0, sizeof(msg));
	iov[0] = (struct iovec){ buf, 4 };
	iov[1] = (struct iovec){ buf + 4, 4 };
	msg.msg_iov = iov;
	msg.msg_iovlen = 2;
	G_ASSERT_EQ(mn_recvmsg(a, &msg, 0), 8);
	G_ASSERT(!memcmp(buf, "01234567", 8));
	G_ASSERT_EQ(mn_recv(a, buf, 2, 0), 2);
	G_ASSERT(!memcmp(buf, "89", 2));

	/* MSG_WAITALL across two sends. */
	G_ASSERT_EQ(io_send_all(b, "xyz", 3), 0);
	p = (struct pollfd){ .fd = a, .events = POLLIN };
	G_ASSERT_EQ(mn_poll(&p, 1, 5000), 1);
	G_ASSERT_EQ(io_send_all(b, "uvw", 3), 0);
	G_ASSERT_EQ(mn_recv(a, buf, 6, MSG_WAITALL), 6);
	G_ASSERT(!memcmp(buf, "xyzuvw", 6));

	/* Poll with nothing queued times out. */
	p = (struct pollfd){ .fd = a, .events = POLLIN };
	G_ASSERT_EQ(mn_poll(&p, 1, 20), 0);

	/* End of stream comes after the data and stays. */
	G_ASSERT_EQ(io_send_all(b, "end", 3), 0);
	G_ASSERT_EQ(mn_shutdown(b, SHUT_WR), 0);
	G_ASSERT_EQ(io_recv_all(a, buf, 3), 0);
	G_ASSERT(!memcmp(buf, "end", 3));
	G_ASSERT_EQ(mn_recv(a, buf, sizeof(buf), 0), 0);
	G_ASSERT_EQ(mn_read(a, buf, sizeof(buf)), 0);
	mn_close(a);
	mn_close(b);
	if (io_uring_path() && mn_debug_io_stat("rx_on") == 1)
		G_ASSERT(mn_debug_io_stat("rx_fast") > 0);
}

TEST(read_calls_in_order)
{
	T_RUN(calls_main, NULL);
}

/* ---- deadlines, contexts and mn_close ---- */

static int cut_fd;
static atomic_int cut_state;

static void closer_victim(void *arg)
{
	char c;

	atomic_store(&cut_state, 1);
	G_ASSERT_EQ(mn_recv(cut_fd, &c, 1, 0), -EBADF);
	atomic_store(&cut_state, 2);
}

static struct mn_wg cancel_wg = MN_WG_INIT;

static void canceller(void *arg)
{
	mn_sleep(20 * 1000 * 1000);
	mn_ctx_cancel(arg);
	mn_wg_done(&cancel_wg);
}

static void cut_main(void *arg)
{
	int a, b;
	char buf[16];
	struct mn_ctx *ctx;

	pair(&a, &b);
	G_ASSERT_EQ(io_send_all(b, "1", 1), 0);
	G_ASSERT_EQ(io_recv_all(a, buf, 1), 0);	/* armed now */

	/* A deadline ends the wait; data sent afterwards is all there. */
	mn_io_set_deadline(mn_now() + 20 * 1000 * 1000);
	G_ASSERT_EQ(mn_recv(a, buf, sizeof(buf), 0), -ETIMEDOUT);
	mn_io_set_deadline(0);
	G_ASSERT_EQ(io_send_all(b, "23", 2), 0);
	G_ASSERT_EQ(io_recv_all(a, buf, 2), 0);
	G_ASSERT(!memcmp(buf, "23", 2));

	/* A context's deadline too. */
	ctx = mn_ctx_with_timeout(NULL, 20 * 1000 * 1000);
	G_ASSERT(ctx);
	mn_io_set_ctx(ctx);
	G_ASSERT_EQ(mn_recv(a, buf, sizeof(buf), 0), -ETIMEDOUT);
	mn_io_set_ctx(NULL);
	mn_ctx_free(ctx);
	/* And a context cancelled by another G while we wait. */
	ctx = mn_ctx_with_cancel(NULL);
	G_ASSERT(ctx);
	mn_wg_add(&cancel_wg, 1);
	G_ASSERT_EQ(mn_go(canceller, ctx), 0);
	mn_io_set_ctx(ctx);
	G_ASSERT_EQ(mn_recv(a, buf, sizeof(buf), 0), -ECANCELED);
	mn_io_set_ctx(NULL);
	mn_wg_wait(&cancel_wg);
	mn_ctx_free(ctx);
	G_ASSERT_EQ(io_send_all(b, "45", 2), 0);
	G_ASSERT_EQ(io_recv_all(a, buf, 2), 0);
	G_ASSERT(!memcmp(buf, "45", 2));

	/* mn_close by another G: -EBADF. */
	cut_fd = a;
	G_ASSERT_EQ(mn_go(closer_victim, NULL), 0);
	while (atomic_load(&cut_state) != 1)
		mn_yield();
	mn_sleep(10 * 1000 * 1000);
	G_ASSERT_EQ(mn_close(a), 0);
	while (atomic_load(&cut_state) != 2)
		mn_sleep(1000 * 1000);
	/* The peer sees the close: the multishot let the socket go. */
	G_ASSERT_EQ(mn_recv(b, buf, 1, 0), 0);
	mn_close(b);
}

TEST(deadline_context_close)
{
	T_RUN(cut_main, NULL);
}

/* ---- close(2) behind the runtime's back ---- */

static void reuse_main(void *arg)
{
	int l = io_listen(&port, 8), a, b, a2, b2;
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	char buf[16];

	G_ASSERT(l >= 0);
	b = io_dial(port);
	a = mn_accept(l, NULL, NULL, SOCK_CLOEXEC);
	G_ASSERT(a >= 0 && b >= 0);
	G_ASSERT_EQ(io_send_all(b, "old", 3), 0);
	G_ASSERT_EQ(io_recv_all(a, buf, 3), 0);	/* armed */
	/* The next client's socket first, so the accept gets a's number. */
	b2 = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	G_ASSERT(b2 >= 0);
	G_ASSERT_EQ(close(a), 0);		/* not mn_close */
	/* Data for the old socket, which its multishot may still take. */
	G_ASSERT_EQ(io_send_all(b, "stale", 5), 0);
	mn_sleep(10 * 1000 * 1000);
	sa.sin_port = htons((uint16_t)port);
	G_ASSERT_EQ(mn_connect(b2, (struct sockaddr *)&sa, sizeof(sa)), 0);
	a2 = mn_accept(l, NULL, NULL, SOCK_CLOEXEC);
	/* The same number (lowest free): what this test is about on io_uring,
	 * where mn_accept lets go of the multishot close(2) left on it.  With
	 * MNSCHED_IO=blocking there is no multishot, and the number may go
	 * first to the eventfd an M makes at its first blocking I/O call (this
	 * G may come back from the sleep or a system call on another M). */
	if (strcmp(mn_io_backend(), "uring") == 0)
		G_ASSERT_EQ(a2, a);
	G_ASSERT_EQ(io_send_all(b2, "new", 3), 0);
	G_ASSERT_EQ(io_recv_all(a2, buf, 3), 0);
	G_ASSERT(!memcmp(buf, "new", 3));
	/* The old connection was let go: its peer sees it closed. */
	{
		ssize_t r = mn_recv(b, buf, 1, 0);

		G_ASSERT(r == 0 || r == -ECONNRESET);
	}
	mn_close(a2);
	mn_close(b2);
	mn_close(b);
	mn_close(l);
}

TEST(close2_then_fd_reused)
{
	T_RUN(reuse_main, NULL);
}

/* ---- the switch: the path of a kernel without multishot receive ---- */

static void off_main(void *arg)
{
	int a, b;
	char buf[8];

	pair(&a, &b);
	for (int i = 0; i < 100; i++) {
		G_ASSERT_EQ(io_send_all(b, "ping", 4), 0);
		G_ASSERT_EQ(io_recv_all(a, buf, 4), 0);
		G_ASSERT(!memcmp(buf, "ping", 4));
	}
	mn_close(a);
	mn_close(b);
	if (io_uring_path()) {
		G_ASSERT_EQ(mn_debug_io_stat("rx_on"), 0);
		G_ASSERT_EQ(mn_debug_io_stat("rx_arms"), 0);
	}
}

static void run_off(void *arg)
{
	setenv("MNSCHED_DEBUG", "multishot=0", 1);
	_exit(mn_main(off_main, NULL) == 0 ? 0 : 1);
}

static void run_on(void *arg)
{
	unsetenv("MNSCHED_DEBUG");
	_exit(mn_main(off_main, NULL) == 0 ? 0 : 1);
}

TEST(switch_off_one_notice)
{
	char out[4096];
	const char *p, *needle = "mnsched: multishot receive off (MNSCHED_DEBUG=multishot=0)";
	int st, n = 0;

	st = t_child(run_off, NULL, out, sizeof(out));
	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(0, WEXITSTATUS(st)) TH_LOG("%s", out);
	for (p = out; (p = strstr(p, needle)); p++)
		n++;
	if (io_uring_path())
		ASSERT_EQ(1, n) TH_LOG("%s", out);
	/* Without the switch the same program must fail the counters'
	 * checks only because multishot is on: this kernel has it. */
	st = t_child(run_on, NULL, out, sizeof(out));
	ASSERT_TRUE(WIFEXITED(st));
	if (io_uring_path() && !strstr(out, "multishot receive off"))
		ASSERT_NE(0, WEXITSTATUS(st)) TH_LOG("%s", out);
}

TEST_HARNESS_MAIN
