// SPDX-License-Identifier: MIT
/*
 * rt_tls.c - TLS and errno across M migration, built at -O2.
 *
 * A G that yields may resume on another OS thread.  The runtime reaches
 * its per-M state through a non-cacheable accessor, so mn_goid() and the
 * runtime's view of "which M am I on" stay right after a migration even
 * though the compiler may cache TLS addresses; the mn_* calls return
 * -errno and leave errno alone, and errno itself is saved and restored
 * per G at every switch.  The test makes Gs migrate (many Gs, 2 Ps, yields
 * and sleeps) and checks, at every step, that the thread the kernel says
 * we are on (gettid) matches the runtime's M (mn_debug_mtid()), and that
 * the G's errno came along.
 */
#include <fcntl.h>
#include <sys/syscall.h>
#include "mn_test.h"

pid_t mn_debug_mtid(void);	/* libmnsched: tid of the calling G's M */

static atomic_int migrations, checks;

/*
 * The README rule: errno is per thread and a G may change thread at any
 * mn_* call that can switch.  GCC treats __errno_location() as const and
 * hoists it out of loops, so `errno` written directly in a function that
 * also calls mn_yield() may name the errno of the thread the G has left.
 * Touch errno in a function that does not switch (these noinline helpers,
 * or right after the libc call in straight-line code) and it is right.
 */
static __attribute__((noinline)) int errno_get(void)
{
	return errno;
}

static __attribute__((noinline)) void errno_set(int v)
{
	errno = v;
}

static __attribute__((noinline)) int failing_open(void)
{
	errno = 0;
	if (open("/nonexistent/x", O_RDONLY) != -1)
		return -1;
	return errno;
}
static struct mn_chan *done;

static void wanderer(void *arg)
{
	uint64_t me = mn_goid();
	pid_t last = (pid_t)syscall(SYS_gettid);

	for (int i = 0; i < 2000; i++) {
		pid_t tid;

		/* errno: set by a failing libc call, read right away. */
		G_ASSERT_EQ(failing_open(), ENOENT);
		if (i % 7 == 0)
			mn_sleep(1000);
		else
			mn_yield();
		tid = (pid_t)syscall(SYS_gettid);
		/* The runtime's per-M state follows the thread we are on. */
		G_ASSERT_EQ(mn_debug_mtid(), tid);
		G_ASSERT_EQ(mn_goid(), me);
		/* errno belongs to the G: the runtime saves it at every
		 * switch and restores it on whichever M the G resumes. */
		errno_set(1234 + i);
		mn_yield();
		G_ASSERT_EQ(mn_debug_mtid(), (pid_t)syscall(SYS_gettid));
		G_ASSERT_EQ(errno_get(), 1234 + i);
		if (tid != last)
			atomic_fetch_add(&migrations, 1);
		last = tid;
		atomic_fetch_add(&checks, 1);
	}
	mn_chan_send(done, NULL);
}

static void tls_main(void *arg)
{
	done = mn_chan_new(0, 0);
	for (int i = 0; i < 8; i++)
		mn_go(wanderer, NULL);
	for (int i = 0; i < 8; i++)
		mn_chan_recv(done, NULL);
	G_ASSERT_EQ(atomic_load(&checks), 8 * 2000);
	/* The test only means something if Gs did move. */
	G_ASSERT(atomic_load(&migrations) > 0);
}

TEST(per_m_state_and_errno_follow_migration)
{
	ASSERT_EQ(0, t_main("MNPROCS", "2", tls_main, NULL));
}

static void err_main(void *arg)
{
	struct mn_go_opts o = { .stack_size = 1 };

	errno = 0;
	/* -errno returned, errno untouched. */
	G_ASSERT_EQ(mn_go_opts(err_main, NULL, &o), -EINVAL);
	G_ASSERT_EQ(errno, 0);
	G_ASSERT_EQ(mn_chan_try_recv(mn_chan_new(1, 0), NULL), -EAGAIN);
	G_ASSERT_EQ(errno, 0);
}

TEST(api_returns_negative_errno_and_leaves_errno)
{
	T_RUN(err_main, NULL);
}

TEST_HARNESS_MAIN
