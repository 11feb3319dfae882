// SPDX-License-Identifier: MIT
/*
 * io_cancel.c - I/O calls cut short: per-G deadlines (-ETIMEDOUT), a
 * context's cancel (-ECANCELED) and deadline, and an fd closed by another
 * G while one waits on it (-EBADF, not a hang).  A call that completes
 * first keeps its result, and the fd stays usable after a timeout.  A
 * cancellation nobody asked for (the kernel's own, as 6.1 does to io-wq
 * requests under SIGSTOP or signals) is made again, not passed on.
 */
#include <pthread.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include "io_util.h"

#define MS 1000000ull

static int sp[2];	/* a connected TCP pair: sp[0] <-> sp[1] */

static void tcp_pair(void)
{
	int lfd, port;

	lfd = io_listen(&port, 4);
	G_ASSERT(lfd >= 0);
	sp[0] = io_dial(port);
	sp[1] = mn_accept(lfd, NULL, NULL, SOCK_CLOEXEC);
	G_ASSERT(sp[0] >= 0 && sp[1] >= 0);
	mn_close(lfd);
}

/* ---- deadlines ---- */

static void late_sender(void *arg)
{
	mn_sleep((uint64_t)(long)arg * MS);
	G_ASSERT_EQ(mn_send(sp[0], "late", 4, 0), 4);
}

static void deadline_main(void *arg)
{
	char b[16];
	uint64_t t0, took;

	tcp_pair();
	/* Nothing comes: -ETIMEDOUT after the deadline, not before. */
	t0 = mn_now();
	mn_io_set_deadline(t0 + 30 * MS);
	G_ASSERT_EQ(mn_recv(sp[1], b, sizeof(b), 0), -ETIMEDOUT);
	took = mn_now() - t0;
	G_ASSERT(took >= 30 * MS);
	G_ASSERT(took < 30 * MS + 500 * MS);
	/* A deadline already past: at once. */
	G_ASSERT_EQ(mn_recv(sp[1], b, sizeof(b), 0), -ETIMEDOUT);
	G_ASSERT_EQ(mn_io_set_deadline(0), t0 + 30 * MS);
	/* The connection is still good, and data before the deadline wins. */
	mn_go(late_sender, (void *)10L);
	mn_io_set_deadline(mn_now() + 2000 * MS);
	G_ASSERT_EQ(mn_recv(sp[1], b, sizeof(b), 0), 4);
	G_ASSERT(memcmp(b, "late", 4) == 0);
	/* Deadlines apply to accept and poll too. */
	{
		int port, lfd = io_listen(&port, 4);
		struct pollfd pf = { .fd = sp[1], .events = POLLIN };

		mn_io_set_deadline(mn_now() + 20 * MS);
		G_ASSERT_EQ(mn_accept(lfd, NULL, NULL, 0), -ETIMEDOUT);
		G_ASSERT_EQ(mn_poll(&pf, 1, -1), -ETIMEDOUT);
		/* poll's own shorter timeout is a plain 0 */
		mn_io_set_deadline(mn_now() + 2000 * MS);
		G_ASSERT_EQ(mn_poll(&pf, 1, 10), 0);
		mn_close(lfd);
	}
	mn_io_set_deadline(0);
	mn_close(sp[0]);
	mn_close(sp[1]);
}

TEST(deadline_times_out_and_data_first_wins)
{
	T_RUN(deadline_main, NULL);
}

/* Many Gs with deadlines at once: every one times out, none is lost. */
static struct mn_wg dwg = MN_WG_INIT;

static void many_deadline_g2(void *arg)
{
	int p[2];
	char b;

	G_ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
	mn_io_set_deadline(mn_now() + (10 + (long)arg % 20) * MS);
	G_ASSERT_EQ(mn_read(p[0], &b, 1), -ETIMEDOUT);
	mn_close(p[0]);
	mn_close(p[1]);
	mn_wg_done(&dwg);
}

static void many_deadlines_main(void *arg)
{
	mn_wg_add(&dwg, 300);
	for (long i = 0; i < 300; i++)
		mn_go(many_deadline_g2, (void *)i);
	mn_wg_wait(&dwg);
}

TEST(three_hundred_deadlines)
{
	io_raise_nofile();
	T_RUN_PROCS(2, many_deadlines_main, NULL);
}

/* ---- contexts ---- */

static struct mn_ctx *cctx;
static atomic_int ctx_res;

static void ctx_reader(void *arg)
{
	char b[8];

	mn_io_set_ctx(cctx);
	atomic_store(&ctx_res, (int)mn_recv(sp[1], b, sizeof(b), 0));
	mn_io_set_ctx(NULL);
	mn_chan_send(arg, NULL);
}

static void ctx_main(void *arg)
{
	struct mn_chan *done = mn_chan_new(0, 0);
	char b[8];
	uint64_t t0;

	tcp_pair();
	/* Cancel reaches a G blocked in mn_recv. */
	cctx = mn_ctx_with_cancel(NULL);
	atomic_store(&ctx_res, 1);
	mn_go(ctx_reader, done);
	mn_sleep(20 * MS);
	G_ASSERT_EQ(atomic_load(&ctx_res), 1);	/* still waiting */
	mn_ctx_cancel(cctx);
	mn_chan_recv(done, NULL);
	G_ASSERT_EQ(atomic_load(&ctx_res), -ECANCELED);
	/* An already-cancelled context: at once. */
	mn_go(ctx_reader, done);
	mn_chan_recv(done, NULL);
	G_ASSERT_EQ(atomic_load(&ctx_res), -ECANCELED);
	mn_ctx_free(cctx);
	/* A context's deadline: -ETIMEDOUT. */
	t0 = mn_now();
	cctx = mn_ctx_with_timeout(NULL, 25 * MS);
	mn_go(ctx_reader, done);
	mn_chan_recv(done, NULL);
	G_ASSERT_EQ(atomic_load(&ctx_res), -ETIMEDOUT);
	G_ASSERT(mn_now() - t0 >= 25 * MS);
	mn_ctx_free(cctx);
	/* A parent's cancel reaches the child's I/O. */
	{
		struct mn_ctx *parent = mn_ctx_with_cancel(NULL);

		cctx = mn_ctx_with_cancel(parent);
		mn_go(ctx_reader, done);
		mn_sleep(10 * MS);
		mn_ctx_cancel(parent);
		mn_chan_recv(done, NULL);
		G_ASSERT_EQ(atomic_load(&ctx_res), -ECANCELED);
		mn_ctx_free(cctx);
		mn_ctx_free(parent);
	}
	/* The connection is still good afterwards. */
	G_ASSERT_EQ(mn_send(sp[0], "ok", 2, 0), 2);
	G_ASSERT_EQ(mn_recv(sp[1], b, sizeof(b), 0), 2);
	mn_close(sp[0]);
	mn_close(sp[1]);
}

TEST(context_cancel_and_deadline_reach_waiting_io)
{
	T_RUN_PROCS(2, ctx_main, NULL);
}

/* Cancel racing completion, many times: every call returns, with data or
 * -ECANCELED, and no data is lost or duplicated. */
static void race_main(void *arg)
{
	struct mn_chan *done = mn_chan_new(0, 0);
	int got = 0;

	tcp_pair();
	for (int i = 0; i < 300; i++) {
		cctx = mn_ctx_with_cancel(NULL);
		mn_go(ctx_reader, done);
		if (i & 1)
			mn_yield();
		G_ASSERT_EQ(mn_send(sp[0], "z", 1, 0), 1);
		mn_ctx_cancel(cctx);
		mn_chan_recv(done, NULL);
		/* Bytes a cancelled call left behind come with a later one. */
		if (atomic_load(&ctx_res) > 0)
			got += atomic_load(&ctx_res);
		else
			G_ASSERT_EQ(atomic_load(&ctx_res), -ECANCELED);
		mn_ctx_free(cctx);
	}
	/* Bytes not received by a cancelled call are still in the socket. */
	{
		char b[512];
		int rest = 0;
		ssize_t n;

		mn_io_set_deadline(mn_now() + 50 * MS);
		while ((n = mn_recv(sp[1], b, sizeof(b), 0)) > 0)
			rest += (int)n;
		mn_io_set_deadline(0);
		G_ASSERT_EQ(got + rest, 300);
	}
	mn_close(sp[0]);
	mn_close(sp[1]);
}

TEST(cancel_racing_completion_loses_nothing)
{
	T_RUN_PROCS(2, race_main, NULL);
}

/* ---- close under a waiting G ---- */

static atomic_int closed_res[3];

static void wait_recv(void *arg)
{
	char b[8];

	atomic_store(&closed_res[0], (int)mn_recv(sp[1], b, sizeof(b), 0));
	mn_chan_send(arg, NULL);
}

static int cpipe[2], clfd;

static void wait_pipe(void *arg)
{
	char b[8];

	atomic_store(&closed_res[1], (int)mn_read(cpipe[0], b, sizeof(b)));
	mn_chan_send(arg, NULL);
}

static void wait_accept(void *arg)
{
	atomic_store(&closed_res[2], mn_accept(clfd, NULL, NULL, 0));
	mn_chan_send(arg, NULL);
}

static void close_main(void *arg)
{
	struct mn_chan *done = mn_chan_new(0, 3);
	uint64_t t0;
	int port;

	tcp_pair();
	G_ASSERT_EQ(pipe2(cpipe, O_CLOEXEC), 0);
	clfd = io_listen(&port, 4);
	for (int i = 0; i < 3; i++)
		atomic_store(&closed_res[i], 1);
	mn_go(wait_recv, done);
	mn_go(wait_pipe, done);
	mn_go(wait_accept, done);
	mn_sleep(30 * MS);
	for (int i = 0; i < 3; i++)
		G_ASSERT_EQ(atomic_load(&closed_res[i]), 1);	/* all waiting */
	t0 = mn_now();
	G_ASSERT_EQ(mn_close(sp[1]), 0);
	G_ASSERT_EQ(mn_close(cpipe[0]), 0);
	G_ASSERT_EQ(mn_close(clfd), 0);
	for (int i = 0; i < 3; i++)
		mn_chan_recv(done, NULL);
	G_ASSERT(mn_now() - t0 < 1000 * MS);
	for (int i = 0; i < 3; i++)
		G_ASSERT_EQ(atomic_load(&closed_res[i]), -EBADF);
	mn_close(sp[0]);
	mn_close(cpipe[1]);
}

TEST(fd_closed_under_a_waiting_g)
{
	T_RUN_PROCS(2, close_main, NULL);
}

/* Many Gs waiting on many fds, all closed: every one returns. */
static struct mn_wg cwg = MN_WG_INIT;
static int many_fds[200][2];

static void many_waiter(void *arg)
{
	char b;
	long r = mn_read(many_fds[(long)arg][0], &b, 1);

	G_ASSERT_EQ(r, -EBADF);
	mn_wg_done(&cwg);
}

static void many_close_main(void *arg)
{
	mn_wg_add(&cwg, 200);
	for (long i = 0; i < 200; i++) {
		G_ASSERT_EQ(pipe2(many_fds[i], O_CLOEXEC), 0);
		mn_go(many_waiter, (void *)i);
	}
	mn_sleep(20 * MS);
	for (int i = 0; i < 200; i++)
		G_ASSERT_EQ(mn_close(many_fds[i][0]), 0);
	mn_wg_wait(&cwg);
	for (int i = 0; i < 200; i++)
		mn_close(many_fds[i][1]);
}

TEST(two_hundred_fds_closed_under_waiters)
{
	io_raise_nofile();
	T_RUN_PROCS(2, many_close_main, NULL);
}

/* ---- the kernel's own cancellations are retried ---- */

/* The library's test hook (uring.c); absent from libraries before it. */
extern void mn_debug_io_cancel_next(int n) __attribute__((weak));

static int kp[2];	/* a pipe */

static void later_write(void *arg)
{
	mn_sleep(20 * MS);
	G_ASSERT_EQ(mn_write(kp[1], "y", 1), 1);
}

static void later_write_to(void *arg)
{
	mn_sleep(20 * MS);
	G_ASSERT_EQ(mn_write(*(int *)arg, "y", 1), 1);
}

static void later_read(void *arg)
{
	char b[4096];

	mn_sleep(20 * MS);
	G_ASSERT(mn_read(kp[0], b, sizeof(b)) > 0);
}

static void kernel_cancel_main(void *arg)
{
	struct pollfd pf;
	char b[64];
	int n = 0;

	G_ASSERT_EQ(pipe2(kp, O_CLOEXEC), 0);
	/* A read waiting on an empty pipe, cancelled by the kernel. */
	mn_go(later_write, NULL);
	mn_debug_io_cancel_next(1);
	G_ASSERT_EQ(mn_read(kp[0], b, sizeof(b)), 1);
	/* A poll, likewise: readiness, not POLLNVAL. */
	mn_go(later_write, NULL);
	mn_debug_io_cancel_next(1);
	pf = (struct pollfd){ .fd = kp[0], .events = POLLIN };
	G_ASSERT_EQ(mn_poll(&pf, 1, -1), 1);
	G_ASSERT_EQ(pf.revents, POLLIN);
	G_ASSERT_EQ(mn_read(kp[0], b, sizeof(b)), 1);
	/* A write waiting on a full pipe. */
	fcntl(kp[1], F_SETFL, O_NONBLOCK);
	while (write(kp[1], b, sizeof(b)) > 0)
		n++;
	fcntl(kp[1], F_SETFL, 0);
	G_ASSERT(n > 0);
	mn_go(later_read, NULL);
	mn_debug_io_cancel_next(1);
	G_ASSERT_EQ(mn_write(kp[1], "z", 1), 1);
	/* Again and again: from the fourth in a row with a pause, still done. */
	while (mn_read(kp[0], b, sizeof(b)) == sizeof(b) && --n > 0)
		;
	mn_go(later_write, NULL);
	mn_debug_io_cancel_next(6);
	for (;;) {
		int r = (int)mn_read(kp[0], b, 1);

		G_ASSERT(r == 1);
		if (b[0] == 'y')
			break;
	}
	mn_debug_io_cancel_next(0);
	/* mn_close still makes a waiting call return -EBADF. */
	mn_close(kp[0]);
	mn_close(kp[1]);
}

TEST(kernel_cancel_without_a_reason_is_made_again)
{
	if (!io_uring_path())
		SKIP(return, "io_uring path only (the blocking path has no ring)");
	if (!mn_debug_io_cancel_next)
		SKIP(return, "this library has no mn_debug_io_cancel_next hook");
	T_RUN_PROCS(1, kernel_cancel_main, NULL);
}

/*
 * Where io_uring hands pipe reads and writes to io-wq (6.1: pipes lack
 * FMODE_NOWAIT, and then preadv2(RWF_NOWAIT) on a pipe says -EOPNOTSUPP),
 * the runtime finds it at start and waits for pipes with a poll request
 * instead, so no io-wq worker holds them.  Kernels that do not (6.12, this
 * host) skip, unless MNSCHED_DEBUG=iopoll=1 asks for that way.
 */
int64_t mn_debug_io_stat(const char *name) __attribute__((weak));

static bool kernel_hands_pipes_to_iowq(void)
{
	int p[2];
	char c;
	struct iovec iov = { &c, 1 };
	long r;

	if (pipe2(p, O_CLOEXEC))
		return false;
	r = preadv2(p[0], &iov, 1, -1, RWF_NOWAIT);
	r = r < 0 ? -errno : r;
	close(p[0]);
	close(p[1]);
	return r == -EOPNOTSUPP;
}

static void iowq_pipe_main(void *arg)
{
	int p[2];
	char b[8];

	G_ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
	mn_go(later_write_to, &p[1]);
	G_ASSERT_EQ(mn_read(p[0], b, sizeof(b)), 1);	/* waits, then the data */
	G_ASSERT_EQ(mn_write(p[1], "abc", 3), 3);
	G_ASSERT_EQ(mn_read(p[0], b, sizeof(b)), 3);
	fprintf(stderr, "# poll_first: %lld\n", (long long)mn_debug_io_stat("poll_first"));
	G_ASSERT(mn_debug_io_stat("poll_first") >= 3);
	mn_close(p[0]);
	mn_close(p[1]);
}

TEST(pipes_wait_with_poll_where_the_kernel_gives_them_to_io_wq)
{
	if (!io_uring_path())
		SKIP(return, "io_uring path only");
	/* MNSCHED_DEBUG=iopoll=1 (io.mk's third run) takes the way anyway. */
	if (!kernel_hands_pipes_to_iowq() &&
	    !(getenv("MNSCHED_DEBUG") && strstr(getenv("MNSCHED_DEBUG"), "iopoll=1")))
		SKIP(return, "this kernel's io_uring does not hand pipes to io-wq");
	ASSERT_TRUE(mn_debug_io_stat != NULL) TH_LOG("the library has no mn_debug_io_stat");
	T_RUN_PROCS(1, iowq_pipe_main, NULL);
}

/*
 * Pipes and a socket pair carry numbered messages between Gs while the
 * process is stopped and continued by another process and showered with
 * signals (a handler without SA_RESTART).  Nothing may be lost, no call may
 * fail (6.1 gave -EBADF for a valid pipe), and it must finish.
 */
enum { SPAIRS = 6, SMSGS = 2000 };
static int sfd[SPAIRS][2];
static struct mn_wg swg = MN_WG_INIT;
static atomic_int storm_stop;
/* Shared with the stopper process; see stop_stopper(). */
static atomic_int *stopper_quit;

static void storm_writer(void *arg)
{
	int fd = sfd[(long)arg][1];

	for (uint32_t i = 0; i < SMSGS; i++) {
		uint32_t m[16] = { i };
		ssize_t r = mn_write(fd, m, sizeof(m));

		if (r != (ssize_t)sizeof(m)) {
			fprintf(stderr, "pair %ld: write %u gave %zd\n", (long)arg, i, r);
			_exit(1);
		}
	}
	mn_wg_done(&swg);
}

static void storm_reader(void *arg)
{
	int fd = sfd[(long)arg][0];

	for (uint32_t i = 0; i < SMSGS; i++) {
		uint32_t m[16];
		size_t got = 0;

		while (got < sizeof(m)) {
			ssize_t r = mn_read(fd, (char *)m + got, sizeof(m) - got);

			if (r <= 0) {
				fprintf(stderr, "pair %ld: read %u gave %zd\n",
					(long)arg, i, r);
				_exit(1);
			}
			got += (size_t)r;
		}
		G_ASSERT_EQ(m[0], i);
	}
	mn_wg_done(&swg);
}

static void storm_handler(int sig)
{
}

static void *storm_thread(void *arg)
{
	while (!atomic_load(&storm_stop)) {
		kill(getpid(), SIGUSR1);
		kill(getpid(), SIGURG);
		usleep(50);
	}
	return NULL;
}

/*
 * End the stopper so that its last signal to us is a SIGCONT: it finishes
 * its cycle and exits.  Killing it instead can leave us stopped for good: a
 * SIGSTOP it is in the middle of sending (or one that reaches us while we
 * are in kill()) still lands after its SIGKILL, and nobody is left to send
 * the SIGCONT (a hang seen in CI; a standalone loop of the old ending
 * stopped its process 3 times in 2000 endings on this host).
 */
static void stop_stopper(pid_t stopper)
{
	atomic_store(stopper_quit, 1);
	/* The storm's SIGUSR1 has no SA_RESTART. */
	while (waitpid(stopper, NULL, 0) < 0 && errno == EINTR)
		;
}

static void storm_main(void *arg)
{
	pthread_t t;
	pid_t stopper, me = getpid();
	struct sigaction sa = { .sa_handler = storm_handler };	/* no SA_RESTART */

	sigaction(SIGUSR1, &sa, NULL);
	for (int i = 0; i < SPAIRS; i++)
		G_ASSERT_EQ(i % 3 == 2 ? socketpair(AF_UNIX, SOCK_STREAM, 0, sfd[i]) :
			    pipe2(sfd[i], O_CLOEXEC), 0);
	stopper_quit = mmap(NULL, sizeof(*stopper_quit), PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	G_ASSERT(stopper_quit != MAP_FAILED);
	stopper = fork();
	if (stopper == 0) {
		/* Dies with us: a failed check _exits the test process, and a
		 * stopper left behind would stop whatever gets our pid next. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != me)
			_exit(0);
		while (!atomic_load(stopper_quit)) {
			kill(me, SIGSTOP);
			usleep(2000);
			kill(me, SIGCONT);
			usleep(3000);
		}
		_exit(0);
	}
	pthread_create(&t, NULL, storm_thread, NULL);
	mn_wg_add(&swg, 2 * SPAIRS);
	for (long i = 0; i < SPAIRS; i++) {
		mn_go(storm_reader, (void *)i);
		mn_go(storm_writer, (void *)i);
	}
	mn_wg_wait(&swg);
	stop_stopper(stopper);
	munmap(stopper_quit, sizeof(*stopper_quit));
	atomic_store(&storm_stop, 1);
	pthread_join(t, NULL);
	for (int i = 0; i < SPAIRS; i++) {
		mn_close(sfd[i][0]);
		mn_close(sfd[i][1]);
	}
}

TEST(stop_cont_and_signal_storm_lose_nothing)
{
	T_RUN_PROCS(2, storm_main, NULL);
}

TEST_HARNESS_MAIN

