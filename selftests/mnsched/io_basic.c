// SPDX-License-Identifier: MIT
/*
 * io_basic.c - each I/O call behaves as its system call: short reads and
 * writes, end of file, a peer that resets or vanishes (-ECONNRESET/-EPIPE,
 * no SIGPIPE), bad fds, zero lengths, vectored and message calls, poll,
 * splice, files; errno is never touched.
 */
#include <netinet/in.h>
#include <pthread.h>
#include <sys/stat.h>
#include "io_util.h"

/* ---- pipes: short reads, EOF ---- */

static int pfd[2];
static struct mn_chan *ack;

static void pipe_writer(void *arg)
{
	char buf[100];

	for (int i = 0; i < 100; i++)
		buf[i] = (char)i;
	/* In pieces of 25, each read by the reader before the next. */
	for (int off = 0; off < 100; off += 25) {
		G_ASSERT_EQ(mn_write(pfd[1], buf + off, 25), 25);
		mn_chan_recv(ack, NULL);
	}
	G_ASSERT_EQ(mn_close(pfd[1]), 0);
}

static void short_reads_main(void *arg)
{
	char buf[64];
	int total = 0;
	ssize_t n;

	ack = mn_chan_new(0, 0);
	G_ASSERT_EQ(pipe2(pfd, O_CLOEXEC), 0);
	mn_go(pipe_writer, NULL);
	while ((n = mn_read(pfd[0], buf, sizeof(buf))) > 0) {
		G_ASSERT_EQ(n, 25);	/* short: what is there, not 64 */
		for (int i = 0; i < n; i++)
			G_ASSERT_EQ((unsigned char)buf[i], total + i);
		total += (int)n;
		mn_chan_send(ack, NULL);
	}
	G_ASSERT_EQ(n, 0);		/* EOF once the writer closed */
	G_ASSERT_EQ(total, 100);
	G_ASSERT_EQ(mn_read(pfd[0], buf, sizeof(buf)), 0);	/* EOF again */
	G_ASSERT_EQ(mn_close(pfd[0]), 0);
}

TEST(pipe_short_reads_and_eof)
{
	T_RUN(short_reads_main, NULL);
}

/*
 * Where io_uring hands pipes to io-wq (6.1), mn_read/mn_write and their
 * vectored forms wait with a poll request and make the system call
 * themselves.  MNSCHED_DEBUG=iopoll=1 takes that way on any kernel: the
 * same pipe behaviour, deadlines and mn_close, and it was taken.
 */
int64_t mn_debug_io_stat(const char *name);
static atomic_int poll_closed;

static void poll_close_waiter(void *arg)
{
	char b;

	atomic_store(&poll_closed, (int)mn_read(pfd[0], &b, 1));
}

static void iopoll_main(void *arg)
{
	char a[8] = "abcdefg", b[8] = "";
	struct iovec iv[2] = { { a, 3 }, { a + 3, 4 } }, ov[2] = { { b, 2 }, { b + 2, 5 } };

	short_reads_main(NULL);			/* short reads, EOF */
	G_ASSERT_EQ(pipe2(pfd, O_CLOEXEC), 0);
	G_ASSERT_EQ(mn_writev(pfd[1], iv, 2), 7);
	G_ASSERT_EQ(mn_readv(pfd[0], ov, 2), 7);
	G_ASSERT(memcmp(a, b, 7) == 0);
	mn_io_set_deadline(mn_now() + 20 * 1000000ull);
	G_ASSERT_EQ(mn_read(pfd[0], b, 1), -ETIMEDOUT);
	mn_io_set_deadline(0);
	mn_go(poll_close_waiter, NULL);
	mn_sleep(20 * 1000000ull);
	G_ASSERT_EQ(mn_close(pfd[0]), 0);
	while (!atomic_load(&poll_closed))
		mn_sleep(1000000);
	G_ASSERT_EQ(atomic_load(&poll_closed), -EBADF);
	G_ASSERT_EQ(mn_write(pfd[1], "x", 1), -EPIPE);	/* no reader left */
	mn_close(pfd[1]);
	if (io_uring_path())
		G_ASSERT(mn_debug_io_stat("poll_first") > 0);
}

TEST(pipes_through_poll_and_a_system_call)
{
	ASSERT_EQ(0, t_main("MNSCHED_DEBUG", "iopoll=1", iopoll_main, NULL));
}

/* ---- sockets: short writes, all data arrives ---- */

#define BIG (4 << 20)
static int sv[2];
static char *big_out, *big_in;

static void slow_reader(void *arg)
{
	size_t got = 0;

	mn_sleep(20000000);	/* let the writer fill the buffers first */
	while (got < BIG) {
		ssize_t n = mn_recv(sv[1], big_in + got, 65536, 0);

		G_ASSERT(n > 0);
		got += (size_t)n;
	}
	mn_chan_send(arg, NULL);
}

static void short_writes_main(void *arg)
{
	struct mn_chan *done = mn_chan_new(0, 0);
	int small = 4096, calls = 0;
	size_t sent = 0;

	big_out = malloc(BIG);
	big_in = malloc(BIG);
	for (int i = 0; i < BIG; i++)
		big_out[i] = (char)(i * 7 + (i >> 12));
	G_ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	mn_go(slow_reader, done);
	while (sent < BIG) {
		ssize_t n = mn_send(sv[0], big_out + sent, BIG - sent, 0);

		G_ASSERT(n > 0);
		sent += (size_t)n;
		calls++;
	}
	mn_chan_recv(done, NULL);
	G_ASSERT(memcmp(big_out, big_in, BIG) == 0);
	G_ASSERT(calls > 1);	/* the 4 MB did not fit in one go */
	mn_close(sv[0]);
	mn_close(sv[1]);
}

TEST(socket_short_writes_deliver_everything)
{
	T_RUN(short_writes_main, NULL);
}

/* ---- a peer that resets, a peer that is gone ---- */

static void reset_main(void *arg)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	int lfd, port, c, s;
	char b[16];
	ssize_t r;

	lfd = io_listen(&port, 8);
	c = io_dial(port);
	s = mn_accept(lfd, NULL, NULL, SOCK_CLOEXEC);
	G_ASSERT(c >= 0 && s >= 0);
	/* Linger 0: close sends RST. */
	setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	G_ASSERT_EQ(mn_close(s), 0);
	r = mn_recv(c, b, sizeof(b), 0);
	G_ASSERT_EQ(r, -ECONNRESET);
	mn_close(c);
	mn_close(lfd);
}

TEST(peer_reset_gives_econnreset)
{
	T_RUN(reset_main, NULL);
}

static void epipe_main(void *arg)
{
	int lfd, port, c, s, p[2];
	char buf[65536] = { 0 };
	ssize_t r = 0;

	lfd = io_listen(&port, 8);
	c = io_dial(port);
	s = mn_accept(lfd, NULL, NULL, SOCK_CLOEXEC);
	G_ASSERT(c >= 0 && s >= 0);
	G_ASSERT_EQ(mn_close(s), 0);
	/* Keep writing to the vanished peer: its RST makes a later send fail,
	 * -EPIPE or -ECONNRESET, and no SIGPIPE kills us. */
	for (int i = 0; i < 100 && r >= 0; i++) {
		r = mn_send(c, buf, sizeof(buf), 0);
		if (r >= 0)
			mn_sleep(1000000);
	}
	G_ASSERT(r == -EPIPE || r == -ECONNRESET);
	/* write(2) on the socket and on a pipe: SIGPIPE is ignored. */
	r = mn_write(c, buf, 10);
	G_ASSERT(r == -EPIPE || r == -ECONNRESET);
	G_ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
	mn_close(p[0]);
	G_ASSERT_EQ(mn_write(p[1], buf, 10), -EPIPE);
	mn_close(p[1]);
	mn_close(c);
	mn_close(lfd);
}

TEST(vanished_peer_gives_epipe_without_sigpipe)
{
	T_RUN(epipe_main, NULL);
}

/* ---- bad input ---- */

static void bad_input_main(void *arg)
{
	char b[8];
	struct iovec iov = { b, sizeof(b) };
	struct pollfd pf = { .fd = 12345, .events = POLLIN };
	int p[2], s[2];

	G_ASSERT_EQ(mn_read(-1, b, 1), -EBADF);
	G_ASSERT_EQ(mn_read(12345, b, 1), -EBADF);
	G_ASSERT_EQ(mn_write(12345, b, 1), -EBADF);
	G_ASSERT_EQ(mn_pread(12345, b, 1, 0), -EBADF);
	G_ASSERT_EQ(mn_readv(12345, &iov, 1), -EBADF);
	G_ASSERT_EQ(mn_recv(12345, b, 1, 0), -EBADF);
	G_ASSERT_EQ(mn_send(12345, b, 1, 0), -EBADF);
	G_ASSERT_EQ(mn_close(-1), -EBADF);
	G_ASSERT_EQ(mn_close(12345), -EBADF);
	G_ASSERT_EQ(mn_fsync(12345), -EBADF);
	G_ASSERT_EQ(mn_shutdown(12345, SHUT_RDWR), -EBADF);
	G_ASSERT_EQ(mn_poll(&pf, 1, 0), 1);
	G_ASSERT_EQ(pf.revents, POLLNVAL);
	G_ASSERT_EQ(mn_poll(&pf, 2, 0), -EINVAL);
	G_ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
	G_ASSERT_EQ(mn_pread(p[0], b, 1, -1), -EINVAL);
	G_ASSERT_EQ(mn_pwrite(p[1], b, 1, -5), -EINVAL);
	G_ASSERT_EQ(mn_recv(p[0], b, 1, 0), -ENOTSOCK);
	G_ASSERT_EQ(mn_readv(p[0], &iov, -1), -EINVAL);
	/* Zero lengths do what the system calls do: return 0 at once. */
	G_ASSERT_EQ(mn_read(p[0], b, 0), 0);
	G_ASSERT_EQ(mn_write(p[1], b, 0), 0);
	/* recv(2) of 0 bytes on a stream socket waits for data, then returns
	 * 0 (so here data comes first); read(2) of 0 bytes returns at once. */
	{
		int lfd, port;

		lfd = io_listen(&port, 4);
		s[0] = io_dial(port);
		s[1] = mn_accept(lfd, NULL, NULL, SOCK_CLOEXEC);
		G_ASSERT(s[0] >= 0 && s[1] >= 0);
		mn_close(lfd);
	}
	G_ASSERT_EQ(mn_send(s[0], b, 0, 0), 0);
	G_ASSERT_EQ(mn_read(s[1], b, 0), 0);
	G_ASSERT_EQ(mn_send(s[0], "x", 1, 0), 1);
	G_ASSERT_EQ(mn_recv(s[1], b, 0, 0), 0);
	G_ASSERT_EQ(mn_recv(s[1], b, 8, 0), 1);
	G_ASSERT_EQ(mn_shutdown(s[0], 99), -EINVAL);
	G_ASSERT_EQ(mn_openat(AT_FDCWD, "/nonexistent/mnsched", O_RDONLY, 0),
		    -ENOENT);
	G_ASSERT_EQ(mn_connect(p[0], NULL, 0) < 0, 1);
	mn_close(p[0]);
	mn_close(p[1]);
	mn_close(s[0]);
	mn_close(s[1]);
}

TEST(bad_fds_and_arguments)
{
	T_RUN(bad_input_main, NULL);
}

/* ---- errno is never touched, on any M ---- */

/* errno through non-inlined helpers: GCC may keep __errno_location()'s
 * result across a call that moves the G to another M (see rt_tls.c). */
static __attribute__((noinline)) int errno_get(void)
{
	return errno;
}

static __attribute__((noinline)) void errno_set(int v)
{
	errno = v;
}

static void errno_g(void *arg)
{
	char b[4];

	for (int i = 0; i < 200; i++) {
		errno_set(4242 + i);
		G_ASSERT_EQ(mn_read(-1, b, 1), -EBADF);
		G_ASSERT_EQ(mn_close(12345), -EBADF);
		G_ASSERT_EQ(errno_get(), 4242 + i);
		mn_yield();
	}
	mn_chan_send(arg, NULL);
}

static void errno_main(void *arg)
{
	struct mn_chan *done = mn_chan_new(0, 4);

	for (int i = 0; i < 4; i++)
		mn_go(errno_g, done);
	for (int i = 0; i < 4; i++)
		mn_chan_recv(done, NULL);
}

TEST(errno_untouched)
{
	T_RUN_PROCS(2, errno_main, NULL);
}

/* ---- readv/writev, sendmsg/recvmsg ---- */

static void vectored_main(void *arg)
{
	char a[3] = "abc", b[4] = "defg", c[5] = "hijkl", out[12] = { 0 };
	struct iovec wv[3] = { { a, 3 }, { b, 4 }, { c, 5 } };
	struct iovec rv[2] = { { out, 5 }, { out + 5, 7 } };
	struct sockaddr_in to = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct sockaddr_in from;
	socklen_t tl = sizeof(to);
	char dgram[32];
	struct iovec dv = { dgram, sizeof(dgram) };
	struct msghdr msg = { .msg_iov = &dv, .msg_iovlen = 1 };
	int p[2], u1, u2;

	G_ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
	G_ASSERT_EQ(mn_writev(p[1], wv, 3), 12);
	G_ASSERT_EQ(mn_readv(p[0], rv, 2), 12);
	G_ASSERT(memcmp(out, "abcdefghijkl", 12) == 0);
	mn_close(p[0]);
	mn_close(p[1]);

	u1 = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	u2 = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	G_ASSERT_EQ(bind(u2, (struct sockaddr *)&to, sizeof(to)), 0);
	getsockname(u2, (struct sockaddr *)&to, &tl);
	memcpy(dgram, "datagram", 8);
	dv.iov_len = 8;
	msg.msg_name = &to;
	msg.msg_namelen = sizeof(to);
	G_ASSERT_EQ(mn_sendmsg(u1, &msg, 0), 8);
	memset(dgram, 0, sizeof(dgram));
	dv.iov_len = sizeof(dgram);
	msg.msg_name = &from;
	msg.msg_namelen = sizeof(from);
	G_ASSERT_EQ(mn_recvmsg(u2, &msg, 0), 8);
	G_ASSERT(memcmp(dgram, "datagram", 8) == 0);
	G_ASSERT_EQ(msg.msg_namelen, sizeof(from));
	G_ASSERT_EQ(from.sin_family, AF_INET);
	mn_close(u1);
	mn_close(u2);
}

TEST(readv_writev_sendmsg_recvmsg)
{
	T_RUN(vectored_main, NULL);
}

/* ---- poll ---- */

static void poll_writer(void *arg)
{
	mn_sleep(30000000);
	G_ASSERT_EQ(mn_write(*(int *)arg, "x", 1), 1);
}

static void poll_main(void *arg)
{
	struct pollfd pf;
	uint64_t t0;
	int p[2];

	G_ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
	pf = (struct pollfd){ .fd = p[0], .events = POLLIN };
	G_ASSERT_EQ(mn_poll(&pf, 1, 0), 0);		/* a look */
	t0 = mn_now();
	G_ASSERT_EQ(mn_poll(&pf, 1, 20), 0);		/* times out */
	G_ASSERT(mn_now() - t0 >= 20000000);
	pf.fd = p[1];
	pf.events = POLLOUT;
	G_ASSERT_EQ(mn_poll(&pf, 1, -1), 1);
	G_ASSERT(pf.revents & POLLOUT);
	mn_go(poll_writer, &p[1]);
	pf = (struct pollfd){ .fd = p[0], .events = POLLIN };
	G_ASSERT_EQ(mn_poll(&pf, 1, 5000), 1);
	G_ASSERT(pf.revents & POLLIN);
	mn_close(p[1]);
	{
		char b[2];

		G_ASSERT_EQ(mn_read(p[0], b, 2), 1);
	}
	G_ASSERT_EQ(mn_poll(&pf, 1, -1), 1);		/* writer gone */
	G_ASSERT(pf.revents & POLLHUP);
	pf.fd = -1;
	G_ASSERT_EQ(mn_poll(&pf, 1, 0), 0);		/* ignored, as poll */
	t0 = mn_now();
	G_ASSERT_EQ(mn_poll(NULL, 0, 10), 0);		/* sleeps */
	G_ASSERT(mn_now() - t0 >= 10000000);
	mn_close(p[0]);
}

TEST(poll_one_fd)
{
	T_RUN(poll_main, NULL);
}

/* ---- files: openat, pwrite/pread, position, fsync, splice ---- */

static void file_main(void *arg)
{
	char path[] = "/tmp/mnsched-io-basic-XXXXXX", buf[8192], back[8192];
	int fd = mkstemp(path), fd2, p[2];
	int64_t off_in, off_out;
	struct stat st;

	G_ASSERT(fd >= 0);
	close(fd);
	fd = mn_openat(AT_FDCWD, path, O_RDWR | O_TRUNC | O_CLOEXEC, 0600);
	G_ASSERT(fd >= 0);
	for (int i = 0; i < (int)sizeof(buf); i++)
		buf[i] = (char)(i * 13);
	G_ASSERT_EQ(mn_pwrite(fd, buf, sizeof(buf), 4096), sizeof(buf));
	G_ASSERT_EQ(mn_fsync(fd), 0);
	G_ASSERT_EQ(fstat(fd, &st), 0);
	G_ASSERT_EQ(st.st_size, 4096 + sizeof(buf));
	G_ASSERT_EQ(mn_pread(fd, back, sizeof(back), 4096), sizeof(back));
	G_ASSERT(memcmp(buf, back, sizeof(buf)) == 0);
	/* mn_read/mn_write use and move the file position. */
	G_ASSERT_EQ(lseek(fd, 0, SEEK_SET), 0);
	G_ASSERT_EQ(mn_write(fd, "head", 4), 4);
	G_ASSERT_EQ(lseek(fd, 0, SEEK_CUR), 4);
	G_ASSERT_EQ(mn_read(fd, back, 4092), 4092);	/* the hole: zeros */
	G_ASSERT_EQ(back[0], 0);
	G_ASSERT_EQ(mn_read(fd, back, sizeof(back)), sizeof(back));
	G_ASSERT(memcmp(buf, back, sizeof(buf)) == 0);
	G_ASSERT_EQ(mn_read(fd, back, sizeof(back)), 0);	/* EOF */
	G_ASSERT_EQ(mn_pread(fd, back, 10, 1 << 30), 0);	/* past EOF */
	/* splice: file -> pipe -> second file, offsets advance. */
	fd2 = mn_openat(AT_FDCWD, path, O_RDWR | O_CLOEXEC, 0);
	G_ASSERT(fd2 >= 0);
	G_ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
	off_in = 4096;
	G_ASSERT_EQ(mn_splice(fd, &off_in, p[1], NULL, 1000, 0), 1000);
	G_ASSERT_EQ(off_in, 5096);
	off_out = 20000;
	G_ASSERT_EQ(mn_splice(p[0], NULL, fd2, &off_out, 1000, 0), 1000);
	G_ASSERT_EQ(off_out, 21000);
	G_ASSERT_EQ(mn_pread(fd2, back, 1000, 20000), 1000);
	G_ASSERT(memcmp(buf, back, 1000) == 0);
	off_in = -1;
	G_ASSERT_EQ(mn_splice(fd, &off_in, p[1], NULL, 10, 0), -EINVAL);
	mn_close(p[0]);
	mn_close(p[1]);
	G_ASSERT_EQ(mn_close(fd2), 0);
	G_ASSERT_EQ(mn_close(fd), 0);
	G_ASSERT_EQ(mn_close(fd), -EBADF);
	unlink(path);
}

TEST(files_openat_pread_pwrite_position_fsync_splice)
{
	T_RUN(file_main, NULL);
}

static void backend_main(void *arg)
{
	G_ASSERT(strcmp(mn_io_backend(), io_path()) == 0);
}

TEST(backend_is_the_one_asked_for)
{
	T_RUN(backend_main, NULL);
}

TEST_HARNESS_MAIN
