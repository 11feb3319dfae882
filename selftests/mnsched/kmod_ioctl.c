// SPDX-License-Identifier: GPL-2.0
/*
 * kmod_ioctl.c - every /dev/mnsched ioctl with valid and invalid input,
 * and the rule that only the opener's process may use a file.
 */
#include <sched.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "kselftest_harness.h"
#include "kmod_util.h"

#define BAD_PTR ((void *)0xffff888000000000ull)

TEST(version)
{
	struct mnsched_version v;
	int fd;

	KT_REQUIRE_DEV();
	fd = kt_open();
	ASSERT_LE(0, fd);
	memset(&v, 0xa5, sizeof(v));
	ASSERT_EQ(0, kt_ioc_p(fd, MNSCHED_IOC_VERSION, &v));
	EXPECT_EQ(MNSCHED_ABI_VERSION, v.abi);
	EXPECT_EQ(MNSCHED_MAX_P, v.max_p);
	EXPECT_LT(0, v.max_m);
	EXPECT_EQ(getpagesize(), v.page_size);
	close(fd);
}

TEST(version_efault)
{
	int fd;

	KT_REQUIRE_DEV();
	fd = kt_open();
	ASSERT_LE(0, fd);
	EXPECT_EQ(-EFAULT, kt_ioc_p(fd, MNSCHED_IOC_VERSION, NULL));
	EXPECT_EQ(-EFAULT, kt_ioc_p(fd, MNSCHED_IOC_VERSION, (void *)1));
	EXPECT_EQ(-EFAULT, kt_ioc_p(fd, MNSCHED_IOC_VERSION, BAD_PTR));
	close(fd);
}

TEST(unknown_ioctl)
{
	int fd;

	KT_REQUIRE_DEV();
	fd = kt_open();
	ASSERT_LE(0, fd);
	EXPECT_EQ(-ENOTTY, kt_ioc(fd, _IO(MNSCHED_IOC_MAGIC, 99), 0));
	EXPECT_EQ(-ENOTTY, kt_ioc(fd, _IOR(MNSCHED_IOC_MAGIC, 0, __u64), 0));
	EXPECT_EQ(-ENOTTY, kt_ioc(fd, _IOWR('T', 1, int), 0));
	/* A wrong size in a known command number is another command. */
	EXPECT_EQ(-ENOTTY, kt_ioc(fd, _IOW(MNSCHED_IOC_MAGIC, 3, __u32), 0));
	close(fd);
}

TEST(config)
{
	struct mnsched_config c = { .nr_p = 4 };
	int fd;

	KT_REQUIRE_DEV();
	fd = kt_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, kt_ioc_p(fd, MNSCHED_IOC_CONFIG, &c));
	EXPECT_EQ(4ull * getpagesize(), c.mmap_size);
	/* Once per open file. */
	EXPECT_EQ(-EBUSY, kt_config(fd, 4));
	EXPECT_EQ(-EBUSY, kt_config(fd, 2));
	close(fd);
	fd = kt_open();
	ASSERT_LE(0, fd);
	EXPECT_EQ(0, kt_config(fd, MNSCHED_MAX_P));
	close(fd);
}

TEST(config_invalid)
{
	struct mnsched_config c = { .nr_p = 2, .flags = 1 };
	int fd;

	KT_REQUIRE_DEV();
	fd = kt_open();
	ASSERT_LE(0, fd);
	EXPECT_EQ(-EINVAL, kt_config(fd, 0));
	EXPECT_EQ(-EINVAL, kt_config(fd, MNSCHED_MAX_P + 1));
	EXPECT_EQ(-EINVAL, kt_config(fd, 0xffffffffu));
	EXPECT_EQ(-EINVAL, kt_ioc_p(fd, MNSCHED_IOC_CONFIG, &c));
	EXPECT_EQ(-EFAULT, kt_ioc_p(fd, MNSCHED_IOC_CONFIG, NULL));
	EXPECT_EQ(-EFAULT, kt_ioc_p(fd, MNSCHED_IOC_CONFIG, BAD_PTR));
	/* Still unconfigured after all that. */
	EXPECT_EQ(0, kt_config(fd, 1));
	close(fd);
}

/*
 * Issue 14, item 4: a CONFIG whose result cannot be copied out fails with
 * -EFAULT and has no effect: the file is still unconfigured.  Before the
 * fix, the Ps were published first (mmap worked, the next CONFIG got
 * -EBUSY).
 */
TEST(config_efault_no_effect)
{
	struct mnsched_config *c;
	long p0;
	void *a;
	int fd, ps = getpagesize();

	KT_REQUIRE_DEV();
	p0 = kt_counter_base("pages");
	fd = kt_open();
	ASSERT_LE(0, fd);
	/* Readable (the input is fine), not writable (the output fails). */
	c = mmap(NULL, ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, c);
	c->nr_p = 4;
	ASSERT_EQ(0, mprotect(c, ps, PROT_READ));
	EXPECT_EQ(-EFAULT, kt_ioc_p(fd, MNSCHED_IOC_CONFIG, c));
	if (p0 >= 0)
		EXPECT_EQ(p0, t_counter("pages"));
	a = mmap(NULL, ps, PROT_READ, MAP_SHARED, fd, 0);
	EXPECT_EQ(MAP_FAILED, a);
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(0, kt_config(fd, 4));
	munmap(c, ps);
	close(fd);
}

TEST(register_unregister)
{
	long id, id2;
	int fd;

	KT_REQUIRE_DEV();
	fd = kt_open();
	ASSERT_LE(0, fd);
	id = kt_register(fd);
	ASSERT_LE(0, id);
	/* Idempotent for the same thread and file. */
	id2 = kt_register(fd);
	EXPECT_EQ(id, id2);
	EXPECT_EQ(0, kt_ioc(fd, MNSCHED_IOC_UNREGISTER, 0));
	EXPECT_EQ(-ESRCH, kt_ioc(fd, MNSCHED_IOC_UNREGISTER, 0));
	EXPECT_EQ(-ESRCH, kt_park(fd, 0));
	id2 = kt_register(fd);
	EXPECT_LE(0, id2);
	close(fd);
}

static pthread_barrier_t reg_bar;

static void *reg_thread(void *arg)
{
	int fd = *(int *)arg;
	long id = kt_register(fd);

	/* Stay alive until all have registered: a dead M's id may be reused. */
	pthread_barrier_wait(&reg_bar);
	return (void *)id;
}

TEST(register_ids_distinct)
{
	pthread_t t[8];
	long ids[8];
	int fd, i, j;

	KT_REQUIRE_DEV();
	fd = kt_open();
	ASSERT_LE(0, fd);
	pthread_barrier_init(&reg_bar, NULL, 8);
	for (i = 0; i < 8; i++)
		ASSERT_EQ(0, pthread_create(&t[i], NULL, reg_thread, &fd));
	for (i = 0; i < 8; i++) {
		void *r;

		pthread_join(t[i], &r);
		ids[i] = (long)r;
		ASSERT_LE(0, ids[i]);
		for (j = 0; j < i; j++)
			EXPECT_NE(ids[j], ids[i]);
	}
	close(fd);
}

TEST(register_two_files)
{
	int a, b;

	KT_REQUIRE_DEV();
	a = kt_open();
	b = kt_open();
	ASSERT_LE(0, a);
	ASSERT_LE(0, b);
	ASSERT_LE(0, kt_register(a));
	/* A thread is an M of one open file at a time. */
	EXPECT_EQ(-EBUSY, kt_register(b));
	/* Once that file is gone, its stale M is replaced. */
	close(a);
	EXPECT_LE(0, kt_register(b));
	close(b);
}

struct lim {
	int fd;
	long ret;
	pthread_barrier_t *bar;
};

static void *lim_thread(void *arg)
{
	struct lim *l = arg;

	l->ret = kt_register(l->fd);
	pthread_barrier_wait(l->bar);
	return NULL;
}

TEST(register_limit)
{
	const char *param = "/sys/module/mnsched/parameters/max_ms";
	pthread_barrier_t bar;
	struct lim l[6];
	pthread_t t[6];
	char old[32] = "";
	int fd, i, enospc = 0, ok = 0;
	FILE *f;

	KT_REQUIRE_DEV();
	f = fopen(param, "r");
	if (!f)
		SKIP(return, "no %s", param);
	ASSERT_NE(NULL, fgets(old, sizeof(old), f));
	fclose(f);
	f = fopen(param, "w");
	if (!f)
		SKIP(return, "cannot write %s (not root)", param);
	fprintf(f, "4\n");
	fclose(f);

	fd = kt_open();
	ASSERT_LE(0, fd);
	pthread_barrier_init(&bar, NULL, 7);
	for (i = 0; i < 6; i++) {
		l[i].fd = fd;
		l[i].bar = &bar;
		ASSERT_EQ(0, pthread_create(&t[i], NULL, lim_thread, &l[i]));
	}
	/* All six register while all are alive. */
	pthread_barrier_wait(&bar);
	for (i = 0; i < 6; i++) {
		pthread_join(t[i], NULL);
		ok += l[i].ret >= 0;
		enospc += l[i].ret == -ENOSPC;
	}
	f = fopen(param, "w");
	ASSERT_NE(NULL, f);
	fputs(old, f);
	fclose(f);
	EXPECT_EQ(4, ok);
	EXPECT_EQ(2, enospc);
	close(fd);
}

TEST(park_invalid)
{
	struct mnsched_park a = { .timeout_ns = 0 };
	int fd;

	KT_REQUIRE_DEV();
	fd = kt_open();
	ASSERT_LE(0, fd);
	EXPECT_EQ(-ESRCH, kt_park(fd, 0));
	ASSERT_LE(0, kt_register(fd));
	a.flags = 1;
	EXPECT_EQ(-EINVAL, kt_ioc_p(fd, MNSCHED_IOC_PARK, &a));
	a.flags = 0;
	a.__pad = 1;
	EXPECT_EQ(-EINVAL, kt_ioc_p(fd, MNSCHED_IOC_PARK, &a));
	EXPECT_EQ(-EFAULT, kt_ioc_p(fd, MNSCHED_IOC_PARK, NULL));
	EXPECT_EQ(-EFAULT, kt_ioc_p(fd, MNSCHED_IOC_PARK, BAD_PTR));
	EXPECT_EQ(-ETIMEDOUT, kt_park(fd, 0));
	close(fd);
}

TEST(unpark_invalid)
{
	long id;
	int fd;

	KT_REQUIRE_DEV();
	fd = kt_open();
	ASSERT_LE(0, fd);
	EXPECT_EQ(-ESRCH, kt_unpark(fd, 0));
	id = kt_register(fd);
	ASSERT_LE(0, id);
	EXPECT_EQ(-ESRCH, kt_unpark(fd, id + 1000));
	EXPECT_EQ(-EINVAL, kt_unpark(fd, 1l << 40));
	EXPECT_EQ(-EINVAL, kt_unpark(fd, -1));
	EXPECT_EQ(0, kt_unpark(fd, id));
	close(fd);
}

TEST(swap_invalid)
{
	struct mnsched_swap a = { .target = 0 };
	uint64_t t0;
	long id;
	int fd;

	KT_REQUIRE_DEV();
	fd = kt_open();
	ASSERT_LE(0, fd);
	EXPECT_EQ(-ESRCH, kt_swap(fd, 0, 0));
	id = kt_register(fd);
	ASSERT_LE(0, id);
	t0 = kt_now();
	/* A missing target fails at once, without parking. */
	EXPECT_EQ(-ESRCH, kt_swap(fd, id + 77, -1));
	EXPECT_EQ(-EINVAL, kt_swap(fd, 0x80000000u, -1));
	EXPECT_GT(100000000ull, kt_now() - t0);
	a.target = id;
	a.flags = 2;
	EXPECT_EQ(-EINVAL, kt_ioc_p(fd, MNSCHED_IOC_SWAP, &a));
	EXPECT_EQ(-EFAULT, kt_ioc_p(fd, MNSCHED_IOC_SWAP, NULL));
	close(fd);
}

TEST(set_p)
{
	int fd;

	KT_REQUIRE_DEV();
	fd = kt_open();
	ASSERT_LE(0, fd);
	EXPECT_EQ(-EINVAL, kt_set_p(fd, 0));
	ASSERT_EQ(0, kt_config(fd, 3));
	EXPECT_EQ(-ESRCH, kt_set_p(fd, 0));
	ASSERT_LE(0, kt_register(fd));
	EXPECT_EQ(0, kt_set_p(fd, 0));
	EXPECT_EQ(0, kt_set_p(fd, 2));
	EXPECT_EQ(-EINVAL, kt_set_p(fd, 3));
	EXPECT_EQ(-EINVAL, kt_set_p(fd, -2));
	EXPECT_EQ(-EINVAL, kt_set_p(fd, 1l << 33));
	EXPECT_EQ(0, kt_set_p(fd, -1));
	EXPECT_EQ(0, kt_ioc(fd, MNSCHED_IOC_SET_P, 0xffffffffu));
	close(fd);
}

TEST(spare_invalid)
{
	struct mnsched_spare a = { .timeout_ns = 0, .flags = 1 };
	uint64_t t0;
	int fd, p;

	KT_REQUIRE_DEV();
	fd = kt_open();
	ASSERT_LE(0, fd);
	ASSERT_LE(0, kt_register(fd));
	EXPECT_EQ(-EINVAL, kt_spare(fd, 0, &p));
	ASSERT_EQ(0, kt_config(fd, 2));
	EXPECT_EQ(-EINVAL, kt_ioc_p(fd, MNSCHED_IOC_SPARE, &a));
	EXPECT_EQ(-EFAULT, kt_ioc_p(fd, MNSCHED_IOC_SPARE, NULL));
	EXPECT_EQ(-ETIMEDOUT, kt_spare(fd, 0, &p));
	t0 = kt_now();
	EXPECT_EQ(-ETIMEDOUT, kt_spare(fd, 10000000, &p));
	EXPECT_LE(10000000ull, kt_now() - t0);
	EXPECT_EQ(0, kt_ioc(fd, MNSCHED_IOC_UNREGISTER, 0));
	EXPECT_EQ(-ESRCH, kt_spare(fd, 0, &p));
	close(fd);
}

/* Results of the child's calls, reported through a pipe. */
struct xres {
	long version, reg, config, unpark;
	int mmap_errno;
};

/* The calls another process tries on @fd, their results in @r. */
static void cross_calls(int fd, struct xres *r)
{
	struct mnsched_version v;
	void *a;

	r->version = kt_ioc_p(fd, MNSCHED_IOC_VERSION, &v);
	r->reg = kt_register(fd);
	r->config = kt_config(fd, 1);
	r->unpark = kt_unpark(fd, 0);
	/* From a CLONE_VM child, a mapping made here would be the parent's. */
	a = mmap(NULL, getpagesize(), PROT_READ, MAP_SHARED, fd, 0);
	r->mmap_errno = a == MAP_FAILED ? errno : 0;
	if (a != MAP_FAILED)
		munmap(a, getpagesize());
}

static void cross_child(int fd, int out)
{
	struct xres r;

	cross_calls(fd, &r);
	if (write(out, &r, sizeof(r)) != sizeof(r))
		_exit(1);
	_exit(0);
}

TEST(cross_process_fork)
{
	struct xres r;
	int fd, pfd[2], st;
	pid_t pid;

	KT_REQUIRE_DEV();
	fd = open(MNSCHED_DEVICE, O_RDWR);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, kt_config(fd, 1));
	ASSERT_LE(0, kt_register(fd));
	ASSERT_EQ(0, pipe(pfd));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0)
		cross_child(fd, pfd[1]);
	ASSERT_EQ(sizeof(r), read(pfd[0], &r, sizeof(r)));
	waitpid(pid, &st, 0);
	EXPECT_EQ(-EPERM, r.version);
	EXPECT_EQ(-EPERM, r.reg);
	EXPECT_EQ(-EPERM, r.config);
	EXPECT_EQ(-EPERM, r.unpark);
	EXPECT_EQ(EPERM, r.mmap_errno);
	/* The owner still can. */
	EXPECT_EQ(0, kt_unpark(fd, 0));
	close(fd);
}

TEST(cross_process_scm_rights)
{
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct msghdr msg = { 0 };
	struct cmsghdr *cm;
	struct iovec iov;
	struct xres r;
	int sv[2], pfd[2], fd, st;
	char c = 'x';
	pid_t pid;

	KT_REQUIRE_DEV();
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	ASSERT_EQ(0, pipe(pfd));
	/* The child exists before the file: it can only get it passed. */
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		int got = -1;

		iov.iov_base = &c;
		iov.iov_len = 1;
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = cbuf;
		msg.msg_controllen = sizeof(cbuf);
		if (recvmsg(sv[1], &msg, 0) != 1)
			_exit(2);
		cm = CMSG_FIRSTHDR(&msg);
		if (!cm || cm->cmsg_type != SCM_RIGHTS)
			_exit(3);
		memcpy(&got, CMSG_DATA(cm), sizeof(int));
		cross_child(got, pfd[1]);
	}
	fd = kt_open();
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, kt_config(fd, 1));
	ASSERT_LE(0, kt_register(fd));
	iov.iov_base = &c;
	iov.iov_len = 1;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cbuf;
	msg.msg_controllen = sizeof(cbuf);
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	ASSERT_EQ(1, sendmsg(sv[0], &msg, 0));
	ASSERT_EQ(sizeof(r), read(pfd[0], &r, sizeof(r)));
	waitpid(pid, &st, 0);
	EXPECT_EQ(-EPERM, r.version);
	EXPECT_EQ(-EPERM, r.reg);
	EXPECT_EQ(-EPERM, r.config);
	EXPECT_EQ(-EPERM, r.unpark);
	EXPECT_EQ(EPERM, r.mmap_errno);
	close(fd);
}

/* ---- processes that share the mm: vfork(), clone(CLONE_VM) ------------ */

static struct xres vm_res;
static int vm_fd;

static int cross_vm_child(void *arg)
{
	/* The same memory as the parent: the results go straight to it. */
	cross_calls(vm_fd, &vm_res);
	return 0;
}

/*
 * Issue 14, item 5: another process that shares the opener's address space
 * (vfork(), clone(CLONE_VM) without CLONE_THREAD) is another process, and
 * gets -EPERM as any other process does.  Before the fix, the check
 * compared the mm only and every call succeeded (its REGISTER made the
 * child an M of the parent's group).
 */
static void cross_vm(struct __test_metadata *_metadata, int flags)
{
	static char stack[64 << 10] __attribute__((aligned(16)));
	long ms0;
	pid_t pid;
	int st;

	KT_REQUIRE_DEV();
	kt_counter_base("allocated");	/* earlier tests' Ms freed */
	vm_fd = kt_open();
	ASSERT_LE(0, vm_fd);
	ASSERT_EQ(0, kt_config(vm_fd, 1));
	ASSERT_LE(0, kt_register(vm_fd));
	ms0 = t_counter("ms");
	memset(&vm_res, 0, sizeof(vm_res));
	pid = clone(cross_vm_child, stack + sizeof(stack), flags | SIGCHLD, NULL);
	ASSERT_LT(0, pid);
	ASSERT_EQ(pid, waitpid(pid, &st, 0));
	EXPECT_TRUE(WIFEXITED(st));
	EXPECT_EQ(-EPERM, vm_res.version);
	EXPECT_EQ(-EPERM, vm_res.reg);
	EXPECT_EQ(-EPERM, vm_res.config);
	EXPECT_EQ(-EPERM, vm_res.unpark);
	EXPECT_EQ(EPERM, vm_res.mmap_errno);
	/* No M was made for the child. */
	if (ms0 >= 0)
		EXPECT_EQ(ms0, kt_counter_wait("ms", ms0, 1000));
	/* The opener (any of its threads) still can. */
	EXPECT_EQ(0, kt_unpark(vm_fd, 0));
	close(vm_fd);
}

TEST(cross_process_vfork)
{
	cross_vm(_metadata, CLONE_VM | CLONE_VFORK);
}

TEST(cross_process_clone_vm)
{
	cross_vm(_metadata, CLONE_VM);
}

TEST_HARNESS_MAIN
