// SPDX-License-Identifier: MIT
/*
 * io_fallback.c - choosing the I/O path: with io_uring forbidden by a
 * seccomp filter (EPERM, as under a container policy, or ENOSYS) the
 * runtime prints one notice line and the I/O calls still work, blocking
 * their M; MNSCHED_IO=uring then refuses to start; a bad MNSCHED_IO value
 * is an error.  (Each case runs in a child with its own environment, so
 * the results do not depend on the path the suite runs with.)
 */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include "io_util.h"

/* Make io_uring_setup fail with err, for this process and its threads. */
static int forbid_io_uring(int err)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_io_uring_setup, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (err & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

static void pipe_echo(void *arg)
{
	int p[2];
	char b[8];

	G_ASSERT(strcmp(mn_io_backend(), "blocking") == 0);
	G_ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
	G_ASSERT_EQ(mn_write(p[1], "ok", 2), 2);
	G_ASSERT_EQ(mn_read(p[0], b, sizeof(b)), 2);
	mn_close(p[0]);
	mn_close(p[1]);
}

static void run_forbidden(void *arg)
{
	int err = (int)(long)arg;

	unsetenv("MNSCHED_IO");
	if (forbid_io_uring(err))
		_exit(3);
	_exit(mn_main(pipe_echo, NULL) == 0 ? 0 : 1);
}

static int count_lines(const char *s, const char *needle)
{
	int n = 0;

	for (const char *p = s; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

TEST(seccomp_eperm_falls_back_with_one_notice)
{
	char out[4096];
	int st = t_child(run_forbidden, (void *)(long)EPERM, out, sizeof(out));

	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(0, WEXITSTATUS(st));
	ASSERT_EQ(1, count_lines(out, "mnsched: io_uring unavailable"));
	ASSERT_NE(NULL, strstr(out, "EPERM"));
}

TEST(enosys_falls_back_with_one_notice)
{
	char out[4096];
	int st = t_child(run_forbidden, (void *)(long)ENOSYS, out, sizeof(out));

	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(0, WEXITSTATUS(st));
	ASSERT_EQ(1, count_lines(out, "mnsched: io_uring unavailable"));
	ASSERT_NE(NULL, strstr(out, "ENOSYS"));
}

static void nothing(void *arg)
{
}

static void run_forced_uring(void *arg)
{
	setenv("MNSCHED_IO", "uring", 1);
	if (forbid_io_uring(EPERM))
		_exit(3);
	_exit(mn_main(nothing, NULL) == -EPERM ? 0 : 1);
}

TEST(forced_uring_refuses_to_start_when_forbidden)
{
	char out[4096];
	int st = t_child(run_forced_uring, NULL, out, sizeof(out));

	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(0, WEXITSTATUS(st));
	ASSERT_NE(NULL, strstr(out, "MNSCHED_IO=uring: io_uring is not usable"));
}

static void run_forced_blocking(void *arg)
{
	setenv("MNSCHED_IO", "blocking", 1);
	_exit(mn_main(pipe_echo, NULL) == 0 ? 0 : 1);
}

TEST(forced_blocking_is_quiet)
{
	char out[4096];
	int st = t_child(run_forced_blocking, NULL, out, sizeof(out));

	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(0, WEXITSTATUS(st));
	ASSERT_EQ(NULL, strstr(out, "io_uring"));
}

static void run_bad_value(void *arg)
{
	setenv("MNSCHED_IO", arg, 1);
	_exit(mn_main(nothing, NULL) == -EINVAL ? 0 : 1);
}

TEST(bad_settings_are_errors)
{
	char out[4096];
	int st = t_child(run_bad_value, "iouring", out, sizeof(out));

	ASSERT_TRUE(WIFEXITED(st));
	ASSERT_EQ(0, WEXITSTATUS(st));
	ASSERT_NE(NULL, strstr(out, "MNSCHED_IO=\"iouring\""));
}

TEST_HARNESS_MAIN
