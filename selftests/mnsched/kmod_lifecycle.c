// SPDX-License-Identifier: GPL-2.0
/*
 * kmod_lifecycle.c - cleanup: thread exit while parked, process exit, fd
 * close with parked Ms, allocation counters back to zero, tracepoints,
 * rmmod and insmod again (x20).
 */
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "kmod_util.h"

#define REQUIRE_COUNTERS()						\
	do {								\
		if (t_counter("allocated") < 0)			\
			SKIP(return, "no " T_COUNTERS " (debugfs not mounted?)"); \
	} while (0)

TEST(counters_file)
{
	static const char * const names[] = {
		"groups", "ms", "pages", "arrays", "allocated", "registers",
		"parks", "unparks", "unparks_deferred", "defer_timeouts", "swaps",
		"spares", "blocks", "handoffs", "kpreempts", "giveways",
	};
	unsigned int i;

	KT_REQUIRE_DEV();
	REQUIRE_COUNTERS();
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		EXPECT_LE(0, t_counter(names[i])) TH_LOG("counter %s", names[i]);
}

TEST(counters_track_allocations)
{
	long g0, m0, p0;
	int fd;

	KT_REQUIRE_DEV();
	REQUIRE_COUNTERS();
	g0 = kt_counter_base("groups");
	m0 = kt_counter_base("ms");
	p0 = kt_counter_base("pages");
	fd = kt_open();
	ASSERT_LE(0, fd);
	EXPECT_EQ(g0 + 1, t_counter("groups"));
	ASSERT_EQ(0, kt_config(fd, 5));
	EXPECT_EQ(p0 + 5, t_counter("pages"));
	ASSERT_LE(0, kt_register(fd));
	EXPECT_EQ(m0 + 1, t_counter("ms"));
	ASSERT_EQ(0, kt_ioc(fd, MNSCHED_IOC_UNREGISTER, 0));
	EXPECT_EQ(m0, t_counter("ms"));
	close(fd);
	EXPECT_EQ(g0, kt_counter_wait("groups", g0, 1000));
	EXPECT_EQ(p0, t_counter("pages"));
}

struct parker {
	int fd;
	int64_t timeout;
	long ret;
	long id;
	volatile int ready;
	int async_cancel;
};

static void *parker_thread(void *arg)
{
	struct parker *k = arg;

	if (k->async_cancel)
		pthread_setcanceltype(PTHREAD_CANCEL_ASYNCHRONOUS, NULL);
	k->id = kt_register(k->fd);
	__atomic_store_n(&k->ready, 1, __ATOMIC_RELEASE);
	k->ret = kt_park(k->fd, k->timeout);
	return NULL;
}

static void wait_ready(struct parker *k, int n)
{
	int i;

	for (i = 0; i < n; i++)
		while (!__atomic_load_n(&k[i].ready, __ATOMIC_ACQUIRE))
			kt_sleep_ns(100000);
	kt_sleep_ns(20000000);
}

TEST(thread_exit_while_parked)
{
	struct parker k = { .timeout = -1, .async_cancel = 1 };
	pthread_t t;
	long m0;
	void *r;

	KT_REQUIRE_DEV();
	REQUIRE_COUNTERS();
	m0 = kt_counter_base("ms");
	k.fd = kt_open();
	ASSERT_LE(0, k.fd);
	ASSERT_EQ(0, pthread_create(&t, NULL, parker_thread, &k));
	wait_ready(&k, 1);
	EXPECT_EQ(m0 + 1, t_counter("ms"));
	/* The thread dies inside PARK. */
	ASSERT_EQ(0, pthread_cancel(t));
	ASSERT_EQ(0, pthread_join(t, &r));
	EXPECT_EQ(PTHREAD_CANCELED, r);
	EXPECT_EQ(m0, kt_counter_wait("ms", m0, 2000));
	/* Its id is gone. */
	EXPECT_EQ(-ESRCH, kt_unpark(k.fd, k.id));
	close(k.fd);
}

static void *reg_and_exit(void *arg)
{
	return (void *)kt_register(*(int *)arg);
}

TEST(thread_exit_frees_m)
{
	pthread_t t[16];
	long m0;
	int fd, i;

	KT_REQUIRE_DEV();
	REQUIRE_COUNTERS();
	m0 = kt_counter_base("ms");
	fd = kt_open();
	ASSERT_LE(0, fd);
	for (i = 0; i < 16; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, reg_and_exit, &fd));
	for (i = 0; i < 16; i++) {
		void *r;

		pthread_join(t[i], &r);
		EXPECT_LE(0, (long)r);
	}
	EXPECT_EQ(m0, kt_counter_wait("ms", m0, 2000));
	close(fd);
}

/* A child with 8 Ms parked forever (and P pages mapped) is killed. */
TEST(process_exit_while_parked)
{
	long base;
	int st, pfd[2];
	pid_t pid;
	char ch;

	KT_REQUIRE_DEV();
	REQUIRE_COUNTERS();
	base = kt_counter_base("allocated");
	ASSERT_EQ(0, pipe(pfd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct parker k[8];
		pthread_t t[8];
		int fd = kt_open(), i;

		if (fd < 0 || kt_config(fd, 4) || !kt_map(fd, 4))
			_exit(1);
		memset(k, 0, sizeof(k));
		for (i = 0; i < 8; i++) {
			k[i].fd = fd;
			k[i].timeout = -1;
			pthread_create(&t[i], NULL, parker_thread, &k[i]);
		}
		wait_ready(k, 8);
		if (write(pfd[1], "r", 1) != 1)
			_exit(2);
		pause();
		_exit(3);
	}
	ASSERT_EQ(1, read(pfd[0], &ch, 1));
	EXPECT_LT(base, t_counter("allocated"));
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	EXPECT_TRUE(WIFSIGNALED(st));
	EXPECT_EQ(base, kt_counter_wait("allocated", base, 3000));
}

/* Parked Ms keep waiting (until their timeout) when the fd is closed. */
TEST(fd_close_with_parked_ms)
{
	struct parker k[4];
	pthread_t t[4];
	long base;
	int fd, i;

	KT_REQUIRE_DEV();
	REQUIRE_COUNTERS();
	base = kt_counter_base("allocated");
	fd = kt_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, kt_config(fd, 2));
	memset(k, 0, sizeof(k));
	for (i = 0; i < 4; i++) {
		k[i].fd = fd;
		k[i].timeout = 200000000;
		ASSERT_EQ(0, pthread_create(&t[i], NULL, parker_thread, &k[i]));
	}
	wait_ready(k, 4);
	ASSERT_EQ(0, close(fd));
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		EXPECT_EQ(-ETIMEDOUT, k[i].ret);
	}
	/* Threads gone, file gone: nothing left. */
	EXPECT_EQ(base, kt_counter_wait("allocated", base, 2000));
}

/* A child closes its fd with Ms parked forever, then is killed. */
TEST(fd_close_then_exit)
{
	long base;
	int st, pfd[2];
	pid_t pid;
	char ch;

	KT_REQUIRE_DEV();
	REQUIRE_COUNTERS();
	base = kt_counter_base("allocated");
	ASSERT_EQ(0, pipe(pfd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct parker k[4];
		pthread_t t[4];
		int fd = kt_open(), i;

		if (fd < 0 || kt_config(fd, 2))
			_exit(1);
		memset(k, 0, sizeof(k));
		for (i = 0; i < 4; i++) {
			k[i].fd = fd;
			k[i].timeout = -1;
			pthread_create(&t[i], NULL, parker_thread, &k[i]);
		}
		wait_ready(k, 4);
		close(fd);
		if (write(pfd[1], "r", 1) != 1)
			_exit(2);
		pause();
		_exit(3);
	}
	ASSERT_EQ(1, read(pfd[0], &ch, 1));
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	EXPECT_EQ(base, kt_counter_wait("allocated", base, 3000));
}

TEST(stale_m_replaced_after_close)
{
	long m0;
	int fd;

	KT_REQUIRE_DEV();
	REQUIRE_COUNTERS();
	m0 = kt_counter_base("ms");
	fd = kt_open();
	ASSERT_LE(0, fd);
	ASSERT_LE(0, kt_register(fd));
	close(fd);
	/* The thread lives on with an M of a released file ... */
	EXPECT_EQ(m0 + 1, t_counter("ms"));
	fd = kt_open();
	ASSERT_LE(0, fd);
	/* ... which registering with a new file replaces. */
	ASSERT_LE(0, kt_register(fd));
	EXPECT_EQ(m0 + 1, t_counter("ms"));
	ASSERT_EQ(0, kt_ioc(fd, MNSCHED_IOC_UNREGISTER, 0));
	EXPECT_EQ(m0, t_counter("ms"));
	close(fd);
}

/* Everything a busy process allocates comes back when it exits. */
TEST(allocations_back_to_zero)
{
	long base;
	int st;
	pid_t pid;

	KT_REQUIRE_DEV();
	REQUIRE_COUNTERS();
	base = kt_counter_base("allocated");
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		struct parker k[16];
		pthread_t t[16];
		int fds[3], i;

		for (i = 0; i < 3; i++) {
			fds[i] = kt_open();
			if (fds[i] < 0 || kt_config(fds[i], 8) || !kt_map(fds[i], 8))
				_exit(1);
		}
		memset(k, 0, sizeof(k));
		for (i = 0; i < 16; i++) {
			k[i].fd = fds[i % 3];
			k[i].timeout = i & 1 ? -1 : 5000000;
			pthread_create(&t[i], NULL, parker_thread, &k[i]);
		}
		wait_ready(k, 16);
		for (i = 0; i < 16; i += 3)
			kt_unpark(k[i].fd, k[i].id);
		_exit(0);
	}
	waitpid(pid, &st, 0);
	EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	EXPECT_EQ(base, kt_counter_wait("allocated", base, 3000));
	EXPECT_EQ(0, kt_counter_wait("allocated", 0, 1000));
}

static int write_file(const char *path, const char *s)
{
	FILE *f = fopen(path, "w");
	int ret;

	if (!f)
		return -1;
	ret = fputs(s, f) < 0 ? -1 : 0;
	if (fclose(f))
		ret = -1;
	return ret;
}

TEST(tracepoints)
{
	const char *tr = "/sys/kernel/tracing";
	static const char * const ev[] = {
		"mnsched_register", "mnsched_park", "mnsched_unpark",
		"mnsched_swap", "mnsched_block", "mnsched_handoff",
		"mnsched_kpreempt",
	};
	char path[256], *buf;
	size_t n = 0;
	unsigned int i;
	long id;
	FILE *f;
	int fd;

	KT_REQUIRE_DEV();
	snprintf(path, sizeof(path), "%s/events/mnsched/enable", tr);
	if (access(path, W_OK))
		SKIP(return, "no %s", path);
	for (i = 0; i < sizeof(ev) / sizeof(ev[0]); i++) {
		snprintf(path, sizeof(path), "%s/events/mnsched/%s/format", tr, ev[i]);
		EXPECT_EQ(0, access(path, R_OK)) TH_LOG("missing %s", path);
	}
	snprintf(path, sizeof(path), "%s/trace", tr);
	ASSERT_EQ(0, write_file(path, ""));
	snprintf(path, sizeof(path), "%s/events/mnsched/enable", tr);
	ASSERT_EQ(0, write_file(path, "1"));
	fd = kt_open();
	ASSERT_LE(0, fd);
	id = kt_register(fd);
	ASSERT_LE(0, id);
	EXPECT_EQ(0, kt_unpark(fd, id));
	EXPECT_EQ(0, kt_park(fd, 0));
	EXPECT_EQ(0, kt_swap(fd, id, 0));
	close(fd);
	ASSERT_EQ(0, write_file(path, "0"));
	snprintf(path, sizeof(path), "%s/trace", tr);
	f = fopen(path, "r");
	ASSERT_NE(NULL, f);
	buf = calloc(1, 1 << 20);
	ASSERT_NE(NULL, buf);
	n = fread(buf, 1, (1 << 20) - 1, f);
	fclose(f);
	EXPECT_LT(0, n);
	EXPECT_NE(NULL, strstr(buf, "mnsched_register:"));
	EXPECT_NE(NULL, strstr(buf, "mnsched_unpark:"));
	EXPECT_NE(NULL, strstr(buf, "mnsched_park:"));
	EXPECT_NE(NULL, strstr(buf, "mnsched_swap:"));
	free(buf);
}

static int run(const char *cmd)
{
	int st = system(cmd);

	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* rmmod, retrying while Ms of exited threads are still being freed. */
static int rmmod_retry(void)
{
	int i;

	for (i = 0; i < 200; i++) {
		if (run("rmmod mnsched 2>/dev/null") == 0)
			return 0;
		kt_sleep_ns(10000000);
	}
	return -1;
}

static void *reload_worker(void *arg)
{
	int fd = *(int *)arg;
	long id = kt_register(fd);

	if (id >= 0) {
		kt_unpark(fd, id);
		kt_park(fd, 1000000);
		kt_park(fd, 1000000);
	}
	return NULL;
}

TEST(rmmod_insmod_x20)
{
	const char *ko = getenv("MNSCHED_KO");
	struct mnsched_pstate *map;
	char cmd[512];
	int i, j, fd;

	KT_REQUIRE_DEV();
	if (!ko || access(ko, R_OK))
		SKIP(return, "MNSCHED_KO does not name the module file");
	if (geteuid())
		SKIP(return, "needs root");
	snprintf(cmd, sizeof(cmd), "insmod %s", ko);

	/* In use: rmmod fails. */
	fd = kt_open();
	ASSERT_LE(0, fd);
	EXPECT_NE(0, run("rmmod mnsched 2>/dev/null"));
	close(fd);

	for (i = 0; i < 20; i++) {
		pthread_t t[4];

		ASSERT_EQ(0, rmmod_retry()) TH_LOG("rmmod failed at round %d", i);
		EXPECT_NE(0, access(MNSCHED_DEVICE, F_OK));
		ASSERT_EQ(0, run(cmd)) TH_LOG("insmod failed at round %d", i);
		for (j = 0; j < 100 && access(MNSCHED_DEVICE, F_OK); j++)
			kt_sleep_ns(1000000);
		fd = kt_open();
		ASSERT_LE(0, fd);
		ASSERT_EQ(0, kt_config(fd, 2));
		map = kt_map(fd, 2);
		ASSERT_NE(NULL, map);
		for (j = 0; j < 4; j++)
			ASSERT_EQ(0, pthread_create(&t[j], NULL, reload_worker, &fd));
		for (j = 0; j < 4; j++)
			pthread_join(t[j], NULL);
		/* A mapping holds the file, and the file the module. */
		close(fd);
		EXPECT_NE(0, run("rmmod mnsched 2>/dev/null"));
		munmap(map, 2 * getpagesize());
	}
	/* Leave a fresh module with clean counters. */
	ASSERT_EQ(0, rmmod_retry());
	ASSERT_EQ(0, run(cmd));
	for (j = 0; j < 100 && access(MNSCHED_DEVICE, F_OK); j++)
		kt_sleep_ns(1000000);
	EXPECT_EQ(0, t_counter("allocated"));
}

TEST_HARNESS_MAIN
